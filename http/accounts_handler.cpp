// Accounts, keys, devices and operations endpoints.
#include "base/faults.hpp"
#include "config/limits.hpp"
#include "config/settings.hpp"
#include "http/actor_bridge.hpp"
#include "http/detail/call.hpp"
#include "http/detail/request_parsing.hpp"
#include "http/render.hpp"
#include "models/crypto.hpp"
#include "models/json_writer.hpp"

#include <simdjson.h>

#include <filesystem>

namespace kiln::http {
namespace {

struct account_request {
  std::string name;
  std::string plan = "free";
  std::int64_t credits = 0;
};

/// A name field: required string of 1..200 bytes (or optional with a default).
std::optional<std::string> read_name(const call_ptr& c, simdjson::dom::object object,
                                     const char* fallback) {
  std::string_view name;
  auto field = object["name"];
  if (field.error() == simdjson::NO_SUCH_FIELD && fallback) return std::string(fallback);
  if (field.get_string().get(name) != simdjson::SUCCESS || name.empty() ||
      name.size() > limits::name_bytes_max) {
    reply_error(c, make_api_error(error_code::invalid_request,
                                  "name must be a string of 1 to 200 bytes", "name"));
    return std::nullopt;
  }
  return std::string(name);
}

/// A key's `mode`: "live" (the default) or "test".
std::optional<key_mode> read_key_mode(const call_ptr& c, simdjson::dom::object object) {
  auto field = object["mode"];
  if (field.error() == simdjson::NO_SUCH_FIELD) return key_mode::live;
  std::string_view text;
  std::optional<key_mode> mode;
  if (field.get_string().get(text) == simdjson::SUCCESS) mode = parse_key_mode(text);
  if (!mode)
    reply_error(c,
                make_api_error(error_code::invalid_request, "mode must be live or test", "mode"));
  return mode;
}

std::optional<account_request> parse_account_request(const api_context& context,
                                                     const call_ptr& c) {
  simdjson::dom::parser parser;
  auto object = read_object(c, parser, {"name", "plan", "credits"});
  if (!object) return std::nullopt;
  account_request result;
  auto name = read_name(c, *object, nullptr);
  if (!name) return std::nullopt;
  result.name = std::move(*name);
  auto plan = (*object)["plan"];
  if (plan.error() != simdjson::NO_SUCH_FIELD) {
    std::string_view text;
    if (plan.get_string().get(text) != simdjson::SUCCESS ||
        !context.config->find_plan(std::string(text))) {
      reply_error(
        c, make_api_error(error_code::invalid_request, "plan must be a configured plan", "plan"));
      return std::nullopt;
    }
    result.plan = std::string(text);
  }
  auto credits = (*object)["credits"];
  if (credits.error() != simdjson::NO_SUCH_FIELD &&
      (credits.get_int64().get(result.credits) != simdjson::SUCCESS || result.credits < 0 ||
       result.credits > limits::credits_grant_max)) {
    reply_error(c, make_api_error(error_code::invalid_request,
                                  "credits must be an integer from 0 to 10^12", "credits"));
    return std::nullopt;
  }
  return result;
}

}  // namespace

void create_key(const api_context& context, const call_ptr& c) {
  // Authenticate first: a caller without a valid key learns nothing about body validation.
  with_principal(context, c, [&context, c](caf::event_based_actor* self, const principal& who) {
    simdjson::dom::parser parser;
    auto object = read_object(c, parser, {"name", "mode", "style"});
    if (!object) return;
    auto name = read_name(c, *object, "unnamed");
    if (!name) return;
    auto mode = read_key_mode(c, *object);
    if (!mode) return;
    // `style`: the key's look for a front end's clients that check it ("mercadream":
    // mk_live_/mk_test_ by mode; "agent_media": ma_); the core's kiln_sk_/kiln_test_ otherwise.
    std::string_view style = "kiln";
    if (auto field = (*object)["style"];
        field.error() != simdjson::NO_SUCH_FIELD &&
        (field.get_string().get(style) ||
         (style != "kiln" && style != "mercadream" && style != "agent_media")))
      return reply_error(c,
                         make_api_error(error_code::invalid_request,
                                        "style must be kiln, mercadream or agent_media", "style"));
    std::string prefix = style == "mercadream" ? (*mode == key_mode::test ? "mk_test_" : "mk_live_")
                         : style == "agent_media" ? "ma_"
                                                  : "";
    // A front end's key route asks for its own prefix (front_end_call); "" is the core's key.
    // It may fix the mode too (MercaDream's mk_live_ and mk_test_ keys).
    key_request request{std::move(*name), std::move(prefix), *mode};
    if (c->front_end) {
      request.prefix = c->front_end->key_prefix;
      if (c->front_end->key_mode) request.mode = *c->front_end->key_mode;
    }
    self
      ->request(context.directory, actor_reply_timeout, create_key_atom::value, who.account_id,
                std::move(request))
      .then(
        [=](key_created& created) {
          c->reply(json_response(201, render_key(created.key, &created.plain)));
        },
        [=](caf::error& error) { reply_error(c, error); });
  });
}

void list_keys(const api_context& context, const call_ptr& c) {
  with_principal(context, c, [&context, c](caf::event_based_actor* self, const principal& who) {
    self->request(context.directory, actor_reply_timeout, list_keys_atom::value, who.account_id)
      .then([=](std::vector<api_key>& keys) { c->reply(json_response(200, render_keys(keys))); },
            [=](caf::error& error) { reply_error(c, error); });
  });
}

void revoke_key(const api_context& context, const call_ptr& c) {
  with_principal(context, c, [&context, c](caf::event_based_actor* self, const principal& who) {
    self
      ->request(context.directory, actor_reply_timeout, revoke_key_atom::value, who.account_id,
                c->params[0])
      .then(
        [=](caf::ok_atom) {
          c->reply(json_response(
            200, R"({"id":")" + c->params[0] + R"(","object":"api_key","deleted":true})"));
        },
        [=](caf::error& error) { reply_error(c, error); });
  });
}

void admin_create_account(const api_context& context, const call_ptr& c) {
  with_admin(context, c, [&context, c](caf::event_based_actor* self) {
    auto request = parse_account_request(context, c);
    if (!request) return;
    self
      ->request(context.directory, actor_reply_timeout, create_account_atom::value, request->name,
                request->plan, request->credits)
      .then(
        [=](account_created& created) {
          c->reply(json_response(201, render_account_created(created)));
        },
        [=](caf::error& error) { reply_error(c, error); });
  });
}

void admin_get_account(const api_context& context, const call_ptr& c) {
  with_admin(context, c, [&context, c](caf::event_based_actor* self) {
    self->request(context.directory, actor_reply_timeout, get_account_atom::value, c->params[0])
      .then([=](account& found) { c->reply(json_response(200, render_account(found))); },
            [=](caf::error& error) { reply_error(c, error); });
  });
}

void admin_devices(const api_context& context, const call_ptr& c) {
  with_admin(context, c, [&context, c](caf::event_based_actor* self) {
    self->request(context.scheduler, actor_reply_timeout, devices_atom::value)
      .then([=](devices_report& report) { c->reply(json_response(200, render_devices(report))); },
            [=](caf::error& error) { reply_error(c, error); });
  });
}

namespace {

std::string render_faults(const runtime_faults& faults) {
  json_writer w;
  w.begin_object()
    .field("object", "faults")
    .field("device_fail_rate", faults.device_fail_rate.load())
    .field("device_crash_rate", faults.device_crash_rate.load())
    .field("webhook_drop_rate", faults.webhook_drop_rate.load())
    .field("store_read_failures", faults.store_read_failures.load())
    .end_object();
  return w.take();
}

}  // namespace

void admin_get_faults(const api_context& context, const call_ptr& c) {
  with_admin(context, c, [&context, c](caf::event_based_actor*) {
    c->reply(json_response(200, render_faults(*context.faults)));
  });
}

/// Changes fault injection at once, for every device and delivery: any of device_fail_rate,
/// device_crash_rate and webhook_drop_rate, each 0..1, and store_read_failures, the number of
/// store reads still to fail (0..10^6); fields left out keep their value.
void admin_put_faults(const api_context& context, const call_ptr& c) {
  with_admin(context, c, [&context, c](caf::event_based_actor*) {
    simdjson::dom::parser parser;
    auto object = read_object(
      c, parser,
      {"device_fail_rate", "device_crash_rate", "webhook_drop_rate", "store_read_failures"});
    if (!object) return;
    auto& faults = *context.faults;
    std::vector<std::pair<std::atomic<double>*, double>> rates;
    std::optional<std::uint32_t> read_failures;
    for (auto field : *object) {
      std::string name(field.key);
      if (name == "store_read_failures") {
        std::uint64_t count = 0;
        if (field.value.get_uint64().get(count) != simdjson::SUCCESS ||
            count > limits::store_read_failures_max)
          return reply_error(c, make_api_error(error_code::invalid_request,
                                               name + " must be an integer from 0 to 10^6", name));
        read_failures = static_cast<std::uint32_t>(count);
        continue;
      }
      double rate = 0;
      if (field.value.get_double().get(rate) != simdjson::SUCCESS || rate < 0 || rate > 1)
        return reply_error(c, make_api_error(error_code::invalid_request,
                                             name + " must be a number from 0 to 1", name));
      rates.emplace_back(name == "device_fail_rate"    ? &faults.device_fail_rate
                         : name == "device_crash_rate" ? &faults.device_crash_rate
                                                       : &faults.webhook_drop_rate,
                         rate);
    }
    for (auto [target, rate] : rates) target->store(rate);
    if (read_failures) faults.store_read_failures = *read_failures;
    c->reply(json_response(200, render_faults(faults)));
  });
}

/// POST /admin/v1/snapshots: a consistent on-line copy of the database under
/// <data_dir>/snapshots/<id>, to be restored with `kiln admin restore --from PATH`.
void admin_snapshot(const api_context& context, const call_ptr& c) {
  with_admin(context, c, [&context, c](caf::event_based_actor* self) {
    auto now = context.clock->now_ms();
    auto id = crypto::make_id("snap_", now);
    auto path = context.config->data_dir + "/snapshots/" + id;
    std::error_code ec;
    std::filesystem::create_directories(context.config->data_dir + "/snapshots", ec);
    self->request(context.writer, actor_reply_timeout, snapshot_atom::value, path)
      .then(
        [=](caf::ok_atom) {
          json_writer w;
          w.begin_object()
            .field("object", "snapshot")
            .field("id", id)
            .field("path", path)
            .field("created_at", format_time_ms(now))
            .end_object();
          c->reply(json_response(201, w.take()));
        },
        [=](caf::error& error) { reply_error(c, error); });
  });
}

void healthz(const api_context&, const call_ptr& c) {
  c->reply(json_response(200, R"({"status":"ok"})"));
}

/// Ready when every configured device is registered and the store takes writes; 503 otherwise,
/// naming what is missing ("storage": "open" or the store's fault).
void readyz(const api_context& context, const call_ptr& c) {
  context.actors->post([&context, c](caf::event_based_actor* self) {
    self->request(context.scheduler, actor_reply_timeout, devices_atom::value)
      .then(
        [=, &context](devices_report& report) {
          auto storage = context.storage_status ? context.storage_status() : store_status{};
          bool devices = report.devices.size() == context.config->devices.size();
          bool ready = devices && storage.writable;
          json_writer w;
          w.begin_object()
            .field("status", ready     ? "ready"
                             : devices ? "degraded"
                                       : "starting")
            .field("storage", storage.writable ? std::string("open") : storage.reason)
            .field("devices", static_cast<std::uint64_t>(report.devices.size()))
            .end_object();
          c->reply(json_response(ready ? 200 : 503, w.take()));
        },
        [=](caf::error& error) { reply_error(c, error); });
  });
}

void metrics(const api_context& context, const call_ptr& c) {
  response r;
  r.content_type = "text/plain; version=0.0.4";
  r.body = context.metrics_text ? context.metrics_text() : std::string{};
  c->reply(std::move(r));
}

}  // namespace kiln::http
