// Killa's device-link routes; see the header. Choices where the seed is silent are in
// docs/frontends.md ("Device link").
#include "http/killa_device_link.hpp"

#include "base/logging.hpp"
#include "config/limits.hpp"
#include "http/actor_bridge.hpp"
#include "http/api.hpp"
#include "http/router.hpp"
#include "models/dialects/killa.hpp"
#include "models/json_read.hpp"
#include "models/json_writer.hpp"

#include <simdjson.h>
#include <spdlog/spdlog.h>
#include <caf/event_based_actor.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace kiln::http {
namespace dom = simdjson::dom;

namespace {

/// How long a route waits for the device-link actor before 503.
constexpr std::chrono::milliseconds link_reply_timeout{15000};
/// The label of a key whose start and approval named none.
constexpr std::string_view default_label = "Device link key";

/// An answer that carries a key or a device code: never kept by a cache.
response secret_answer(int status, std::string body) {
  auto r = json_response(status, std::move(body));
  r.headers.emplace_back("Cache-Control", "no-store");
  return r;
}

response refusal(int status, std::string_view code, std::string_view message,
                 std::string_view field = {}) {
  return enveloped_error(status, killa::render_error(code, message, field));
}

response refusal(const caf::error& error) {
  auto e = to_api_error(error);
  return refusal(http_status(e.code), error_name(e.code), e.message, e.field);
}

/// What a link's status refuses an approval with.
response approve_refusal(device_link_status status) {
  switch (status) {
    case device_link_status::expired:
      return refusal(410, "expired_token", "this device link has expired; start a new one",
                     "userCode");
    case device_link_status::approved:
    case device_link_status::claimed:
      return refusal(409, "already_approved", "this device link is already approved", "userCode");
    default:
      return refusal(404, "not_found", "no device link has this user code", "userCode");
  }
}

response not_json() {
  return refusal(415, "unsupported_media_type", "send the body as Content-Type: application/json");
}

/// The body's string member `name`: absent (or null) gives `fallback`; anything but a string of
/// 1 to 200 bytes is nullopt.
std::optional<std::string> label_of(dom::element body, std::string_view name,
                                    std::string_view fallback) {
  auto field = body[name];
  if (field.error() == simdjson::NO_SUCH_FIELD || field.is_null()) return std::string(fallback);
  std::string_view text;
  if (field.get_string().get(text) || text.empty() || text.size() > limits::name_bytes_max)
    return std::nullopt;
  return std::string(text);
}

response bad_label(std::string_view name) {
  return refusal(400, "invalid_request", std::string(name) + " must be a string of 1 to 200 bytes",
                 name);
}

/// Sends `args` to the device-link actor from a bridge actor; `then` gets the answer there, and
/// `failed` (by default: the error in Killa's envelope) the actor's failure to answer.
template <class Answer, class... Args>
void ask_links(api& core, const exchange_ptr& x, std::function<void(Answer&)> then,
               std::function<void(const caf::error&)> failed, Args... args) {
  if (!failed) failed = [x](const caf::error& error) { x->reply(refusal(error)); };
  const auto& context = core.context();
  if (!context.device_links)
    return x->reply(refusal(503, "unavailable", "device links are not running on this server"));
  context.actors->post([links = context.device_links, then, failed,
                        args...](caf::event_based_actor* self) {
    self->request(links, link_reply_timeout, args...)
      .then([then](Answer& value) { then(value); }, [failed](caf::error& error) { failed(error); });
  });
}

/// Revokes the key `key_id` of the caller of `x` (a key minted for a link that refused it), then
/// runs `next` whatever the outcome; a failure is logged, the key staying in the caller's list.
void revoke(api& core, const exchange_ptr& x, const std::string& key_id,
            std::function<void()> next) {
  core.dispatch_as(
    *x, inner_request(*x, "DELETE", "/v1/keys/" + key_id), [x, key_id, next](response r) {
      if (r.status != 200)
        logs::get("http")->warn(R"("event":"killa.device_link.revoke_failed","request_id":"{}",)"
                                R"("key_id":"{}","status":{})",
                                x->request_id, key_id, r.status);
      next();
    });
}

// -- routes ---------------------------------------------------------------------------------

/// POST /api/v1/device/link/start {keyLabel?}: no key needed.
void start(api& core, const exchange_ptr& x) {
  std::string label(default_label);
  if (!x->req.body.empty()) {
    if (!is_json_body(x->req)) return x->reply(not_json());
    dom::parser parser;
    dom::element body;
    if (parser.parse(x->req.body).get(body) || !body.is_object())
      return x->reply(refusal(400, "invalid_json", "the body must be a JSON object"));
    auto given = label_of(body, "keyLabel", default_label);
    if (!given) return x->reply(bad_label("keyLabel"));
    label = std::move(*given);
  }
  auto host = x->req.header("host");
  std::string base = "http://" + std::string(host.empty() ? "127.0.0.1" : host);
  ask_links<device_link_started>(
    core, x,
    [x, base](device_link_started& link) {
      json_writer w;
      w.begin_object()
        .field("ok", true)
        .field("deviceCode", link.device_code)
        .field("userCode", link.user_code)
        .field("verificationUri", base + "/api/v1/device/link/request?userCode=" + link.user_code)
        .field("keyLabel", link.key_label)
        .field("expiresIn", link.expires_in_s)
        .field("interval", link.interval_s);
      x->reply(secret_answer(200, w.end_object().take()));
    },
    {}, link_start_atom::value, std::move(label));
}

/// GET /api/v1/device/link/request?userCode=: the link's status and label, never its key.
void request_status(api& core, const exchange_ptr& x) {
  auto code = query_param(x->req.target, "userCode");
  if (code.empty())
    return x->reply(refusal(400, "invalid_request", "userCode is required", "userCode"));
  ask_links<device_link_view>(
    core, x,
    [x](device_link_view& link) {
      if (link.status == device_link_status::not_found)
        return x->reply(approve_refusal(link.status));
      json_writer w;
      w.begin_object()
        .field("ok", true)
        .field("userCode", link.user_code)
        .field("status", device_link_status_name(link.status))
        .field("keyLabel", link.key_label)
        .field("expiresIn", link.expires_in_s);
      x->reply(json_response(200, w.end_object().take()));
    },
    {}, link_status_atom::value, std::move(code));
}

/// Hands the key minted for `x`'s caller to the link; revokes it when the link refuses it.
void hand_over(api& core, const exchange_ptr& x, const std::string& user_code,
               device_link_key key) {
  auto key_id = key.key_id;
  auto shown = std::make_shared<device_link_key>(key);
  shown->plain_key.clear();
  ask_links<device_link_approval>(
    core, x,
    [&core, x, shown, user_code](device_link_approval& approval) {
      if (!approval.accepted)
        return revoke(core, x, shown->key_id,
                      [x, status = approval.status] { x->reply(approve_refusal(status)); });
      json_writer w;
      w.begin_object()
        .field("ok", true)
        .field("status", "approved")
        .field("userCode", user_code)
        .field("keyLabel", shown->key_label)
        .field("keyPrefix", shown->key_prefix);
      x->reply(json_response(200, w.end_object().take()));
    },
    // No answer: the link may never get the key, so it is revoked (a tool that got it anyway
    // finds it refused and starts again).
    [&core, x, key_id](const caf::error& error) {
      revoke(core, x, key_id, [x, error] { x->reply(refusal(error)); });
    },
    link_approve_atom::value, user_code, std::move(key));
}

/// POST /api/v1/device/link/approve {userCode, keyLabel?} with the approver's key: mints a new
/// key for the approver's account (POST /v1/keys as the caller) and hands it to the link.
void approve(api& core, const exchange_ptr& x) {
  if (!is_json_body(x->req)) return x->reply(not_json());
  // Authenticate first: a caller without a valid key learns nothing about the body or the link.
  core.authenticate(x, [&core, x] {
    dom::parser parser;
    dom::element body;
    if (parser.parse(x->req.body).get(body) || !body.is_object())
      return x->reply(refusal(400, "invalid_json", "the body must be a JSON object"));
    auto user_code = std::string(json_read::text_or(body["userCode"]));
    if (user_code.empty())
      return x->reply(refusal(400, "invalid_request", "userCode is required", "userCode"));
    auto label = label_of(body, "keyLabel", {});
    if (!label) return x->reply(bad_label("keyLabel"));
    ask_links<device_link_view>(
      core, x,
      [&core, x, user_code, label = *label](device_link_view& link) {
        if (link.status != device_link_status::pending)
          return x->reply(approve_refusal(link.status));
        // The approver's label wins; else the one the tool asked for at start.
        json_writer name;
        name.begin_object().field("name", label.empty() ? link.key_label : label).end_object();
        core.dispatch_as(
          *x, inner_request(*x, "POST", "/v1/keys", name.take()),
          [&core, x, user_code](response r) {
            if (r.status != 201) return x->reply(passed_on(std::move(r)));
            dom::parser p;
            dom::element created;
            if (p.parse(r.body).get(created))
              return x->reply(refusal(500, "server_error", "the new key could not be read"));
            hand_over(core, x, user_code,
                      device_link_key{std::string(json_read::text_or(created["key"])),
                                      std::string(json_read::text_or(created["id"])),
                                      std::string(json_read::text_or(created["prefix"])),
                                      std::string(json_read::text_or(created["name"])),
                                      x->who->account_id});
          });
      },
      {}, link_status_atom::value, user_code);
  });
}

/// POST /api/v1/device/link/poll {deviceCode}: no key needed; the device code is the secret.
void poll(api& core, const exchange_ptr& x) {
  if (!is_json_body(x->req)) return x->reply(not_json());
  dom::parser parser;
  dom::element body;
  if (parser.parse(x->req.body).get(body) || !body.is_object())
    return x->reply(refusal(400, "invalid_json", "the body must be a JSON object"));
  auto device_code = std::string(json_read::text_or(body["deviceCode"]));
  if (device_code.empty())
    return x->reply(refusal(400, "invalid_request", "deviceCode is required", "deviceCode"));
  ask_links<device_link_poll>(
    core, x,
    [x](device_link_poll& link) {
      json_writer w;
      switch (link.status) {
        case device_link_status::pending:
          w.begin_object()
            .field("ok", true)
            .field("status", "pending")
            .field("expiresIn", link.expires_in_s)
            .field("interval", link.interval_s);
          return x->reply(json_response(200, w.end_object().take()));
        case device_link_status::approved:
          w.begin_object()
            .field("ok", true)
            .field("status", "approved")
            .field("apiKey", link.plain_key)
            .field("keyPrefix", link.key_prefix)
            .field("keyLabel", link.key_label);
          return x->reply(secret_answer(200, w.end_object().take()));
        case device_link_status::claimed:
          return x->reply(refusal(
            410, "already_claimed",
            "this device link's key was already handed out; start a new link for another key",
            "deviceCode"));
        case device_link_status::expired:
          return x->reply(refusal(
            410, "expired_token",
            "this device link expired before its key was claimed; start a new one", "deviceCode"));
        case device_link_status::not_found:
          break;
      }
      x->reply(refusal(404, "not_found", "no device link has this device code", "deviceCode"));
    },
    {}, link_poll_atom::value, std::move(device_code));
}

/// A route of `core`; its errors are in Killa's envelope by api::set_envelope (mount_killa).
front_end on(api& core, void (*route)(api&, const exchange_ptr&)) {
  return [&core, route](const exchange_ptr& x) { route(core, x); };
}

}  // namespace

void mount_killa_device_link(api& core) {
  core.mount("POST", "/api/v1/device/link/start", on(core, start), false);
  core.mount("GET", "/api/v1/device/link/request", on(core, request_status), false);
  core.mount("POST", "/api/v1/device/link/approve", on(core, approve), false);
  core.mount("POST", "/api/v1/device/link/poll", on(core, poll), false);
}

}  // namespace kiln::http
