// The API entry point: request and trace ids, routing, content-type checks, and the helpers every
// resource handler shares.
#include "http/api.hpp"

#include "models/json_read.hpp"

#include "base/logging.hpp"
#include "config/settings.hpp"
#include "http/actor_bridge.hpp"
#include "http/detail/call.hpp"
#include "http/router.hpp"
#include "models/crypto.hpp"
#include "models/json_writer.hpp"

#include <spdlog/spdlog.h>

namespace kiln::http {

using route_handler = std::function<void(const api_context&, const call_ptr&)>;

struct api::impl {
  api_context context;
  router<route_handler> routes;
  std::vector<std::pair<std::string, envelope>> envelopes;  ///< by path prefix
  struct dedicated {
    std::vector<std::string> prefixes;
    envelope reshape;
  };
  std::vector<std::pair<std::string, dedicated>> listeners;

  /// The envelope of errors for `path` on `listener`; null for the core's own. `served` is
  /// false when the path is not served on that listener at all.
  const envelope* envelope_for(std::string_view listener, std::string_view path,
                               bool& served) const {
    served = true;
    for (const auto& [name, d] : listeners) {
      if (name != listener) continue;
      served = false;
      for (const auto& prefix : d.prefixes) served = served || path.starts_with(prefix);
      return &d.reshape;
    }
    const envelope* best = nullptr;
    std::size_t best_length = 0;
    for (const auto& [prefix, reshape] : envelopes)
      if (path.starts_with(prefix) && prefix.size() >= best_length) {
        best = &reshape;
        best_length = prefix.size();
      }
    return best;
  }
};

namespace {

/// The trace id of a W3C `traceparent` ("00-<32 hex>-<16 hex>-<2 hex>"), or a new one.
std::string trace_id_of(std::string_view traceparent) {
  auto is_hex = [](std::string_view s) {
    return s.find_first_not_of("0123456789abcdef") == std::string_view::npos;
  };
  if (traceparent.size() == 55 && traceparent[2] == '-' && traceparent[35] == '-') {
    auto id = traceparent.substr(3, 32);
    if (is_hex(id) && id != std::string(32, '0')) return std::string(id);
  }
  return crypto::hex(crypto::random_bytes(16));
}

bool is_json_content_type(std::string_view value) {
  auto end = value.find(';');
  auto media = value.substr(0, end);
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  return media.size() == 16 && strncasecmp(media.data(), "application/json", 16) == 0;
}

}  // namespace

response json_response(int status, std::string body) {
  response r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

response enveloped_error(int status, std::string body) {
  auto r = json_response(status, std::move(body));
  r.enveloped = true;
  return r;
}

bool is_json_body(const request& message) {
  return is_json_content_type(message.header("content-type"));
}

void for_each_listed_key(std::string_view core_body,
                         const std::function<void(const listed_key&)>& visit) {
  simdjson::dom::parser parser;
  simdjson::dom::array keys;
  if (parser.parse(core_body.data(), core_body.size())["data"].get_array().get(keys)) return;
  for (simdjson::dom::element k : keys)
    visit({json_read::text_or(k["id"]), json_read::text_or(k["prefix"]),
           json_read::text_or(k["name"]), json_read::text_or(k["created_at"]),
           json_read::text_or(k["last_used_at"])});
}

response passed_on(response inner, const std::function<std::string(std::string_view)>& ok) {
  response out;
  out.status = inner.status;
  bool success = inner.status >= 200 && inner.status < 300;
  out.body = success && ok ? ok(inner.body) : std::move(inner.body);
  for (auto& [name, value] : inner.headers)
    if (name == "Retry-After" || name == "Idempotent-Replayed" || name == "Location")
      out.headers.emplace_back(name, std::move(value));
  return out;
}

response error_response(const api_error& error) {
  json_writer w;
  w.begin_object()
    .key("error")
    .begin_object()
    .field("code", error_name(error.code))
    .field("message", error.message);
  if (!error.field.empty() || !error.outcome.empty()) {
    w.key("details").begin_object();
    if (!error.field.empty()) w.field("field", error.field);
    if (!error.outcome.empty()) w.field("outcome", error.outcome);
    w.end_object();
  }
  w.end_object().end_object();
  auto r = json_response(http_status(error.code), w.take());
  // RFC 9110 11.6.1: a 401 names the scheme it wants.
  if (r.status == 401) r.headers.emplace_back("WWW-Authenticate", "Bearer");
  return r;
}

void reply_error(const call_ptr& c, const api_error& error) { c->reply(error_response(error)); }

void reply_error(const call_ptr& c, const caf::error& error) {
  reply_error(c, to_api_error(error));
}

const store_reader_actor& reader_for(const api_context& context, const std::string& account_id) {
  return context.readers[std::hash<std::string>{}(account_id) % context.readers.size()];
}

namespace {

/// Looks the key up (and counts the request against the account's rate) for any exchange, sets
/// `who`, adds the rate headers to every later answer, and runs `next`; or answers 401/429/503.
void authenticate_exchange(const api_context& context, const exchange_ptr& x,
                           std::function<void(caf::event_based_actor*)> next) {
  std::string_view key = x->req.header("x-api-key");
  auto authorization = x->req.header("authorization");
  if (key.empty() && authorization.size() > 7 &&
      strncasecmp(authorization.data(), "bearer ", 7) == 0)
    key = authorization.substr(7);
  if (key.empty())
    return x->reply(error_response(make_api_error(
      error_code::unauthorized, "send your API key as Authorization: Bearer <key>")));
  auto hash = crypto::sha256_hex(key);
  context.actors->post([directory = context.directory, config = context.config, hash, x,
                        next](caf::event_based_actor* self) {
    self->request(directory, supervised_wait, auth_atom::value, hash)
      .then(
        [=](principal& who) {
          // Every authenticated answer carries the key's budget; an empty bucket is 429.
          std::vector<std::pair<std::string, std::string>> rate{
            {"X-RateLimit-Limit", std::to_string(who.rate_limit)},
            {"X-RateLimit-Remaining", std::to_string(who.rate_remaining)},
            {"X-RateLimit-Reset", std::to_string(who.rate_reset_s)}};
          x->reply = [rate, reply = std::move(x->reply)](response r) {
            r.headers.insert(r.headers.end(), rate.begin(), rate.end());
            reply(std::move(r));
          };
          if (who.rate_limited) {
            auto r = error_response(make_api_error(
              error_code::rate_limited,
              "this key is over its plan's " + std::to_string(who.rate_limit) +
                " requests per minute; retry after " + std::to_string(who.retry_after_s) + " s"));
            r.headers.emplace_back("Retry-After", std::to_string(who.retry_after_s));
            return x->reply(std::move(r));
          }
          if (const auto* plan = config->find_plan(who.plan); plan && !plan->api_access)
            return x->reply(error_response(make_api_error(
              error_code::plan_required, "the " + who.plan + " plan does not include API access")));
          x->who = std::move(who);
          bridge_scope scope(self);  // what `next` dispatches may run right here
          next(self);
        },
        [=](caf::error& error) { x->reply(error_response(to_api_error(error))); });
  });
}

}  // namespace

void with_principal(const api_context& context, const call_ptr& c,
                    std::function<void(caf::event_based_actor*, const principal&)> next) {
  auto run = [c, next = std::move(next)](caf::event_based_actor* self) { next(self, *c->who); };
  // A front end's call into the routes comes authenticated already (api::dispatch_as); made
  // from a bridge actor's task, it runs on in that actor rather than hopping to another.
  if (c->who) {
    if (auto* self = current_bridge_actor()) return run(self);
    return context.actors->post(std::move(run));
  }
  authenticate_exchange(context, c, std::move(run));
}

void with_admin(const api_context& context, const call_ptr& c,
                std::function<void(caf::event_based_actor*)> next) {
  auto authorization = c->req.header("authorization");
  std::string_view token;
  if (authorization.size() > 7 && strncasecmp(authorization.data(), "bearer ", 7) == 0)
    token = authorization.substr(7);
  if (token.empty() ||
      !crypto::constant_time_equal(crypto::sha256_hex(token),
                                   crypto::sha256_hex(context.config->admin_token)))
    return reply_error(c, make_api_error(error_code::unauthorized, "admin token required"));
  context.actors->post(std::move(next));
}

api::api(api_context context) : impl_(new impl{std::move(context), {}, {}, {}}) {
  auto& r = impl_->routes;
  r.add("POST", "/v1/jobs", create_job, true);
  r.add("GET", "/v1/jobs", list_jobs);
  r.add("POST", "/v1/jobs/estimate", estimate_job, true);
  r.add("GET", "/v1/jobs/{id}", get_job);
  r.add("DELETE", "/v1/jobs/{id}", delete_job);
  r.add("POST", "/v1/jobs/{id}/cancel", cancel_job);
  r.add("GET", "/v1/jobs/{id}/events", list_job_events);
  r.add("GET", "/v1/jobs/{id}/deliveries", list_deliveries);
  r.add("POST", "/v1/jobs/{id}/deliveries/redeliver", redeliver);
  r.add("GET", "/v1/webhook-secret", get_webhook_secret);
  r.add("POST", "/v1/webhook-secret/rotate", rotate_webhook_secret);
  r.add("GET", "/v1/balance", get_balance);
  r.add("GET", "/v1/ledger", list_ledger);
  r.add("GET", "/v1/account", get_account_view);
  r.add("GET", "/v1/usage", get_usage);
  r.add("GET", "/v1/files/{name}", get_file);
  r.add("GET", "/v1/models", list_models);
  r.add("POST", "/v1/uploads", create_upload);  // the body is optional: checked there
  r.add("GET", "/v1/uploads/{id}", get_upload);
  r.add("PUT", "/v1/uploads/{id}/files", put_upload_file);  // streamed: server_options
  r.add("GET", "/v1/uploads/{id}/files/{n}", get_upload_file);
  r.add("POST", "/v1/keys", create_key, true);
  r.add("GET", "/v1/keys", list_keys);
  r.add("DELETE", "/v1/keys/{id}", revoke_key);
  r.add("POST", "/admin/v1/accounts", admin_create_account, true);
  r.add("GET", "/admin/v1/accounts/{id}", admin_get_account);
  r.add("POST", "/admin/v1/accounts/{id}/credits", admin_grant, true);
  r.add("POST", "/admin/v1/accounts/{id}/jobs/{job}/restore", admin_restore_job);
  r.add("GET", "/admin/v1/devices", admin_devices);
  r.add("GET", "/admin/v1/faults", admin_get_faults);
  r.add("PUT", "/admin/v1/faults", admin_put_faults, true);
  r.add("POST", "/admin/v1/snapshots", admin_snapshot);
  r.add("GET", "/healthz", healthz);
  r.add("GET", "/readyz", readyz);
  r.add("GET", "/metrics", metrics);
}

api::~api() = default;

response api::limit_response(int status, std::string_view target) const {
  response r;
  if (status == 413 && target.starts_with("/v1/uploads/")) {
    r = error_response(make_api_error(error_code::payload_too_large,
                                      "the file is over this server's upload limit of " +
                                        std::to_string(impl_->context.config->uploads.max_bytes) +
                                        " bytes; nothing was kept"));
  } else if (status == 413) {
    r = error_response(make_api_error(error_code::payload_too_large, "the body is over 1 MiB"));
  } else if (status == 431) {
    r = error_response(make_api_error(error_code::invalid_request, "headers are over 16 KiB"));
    r.status = 431;
  } else {
    r = error_response(make_api_error(error_code::invalid_request, "malformed HTTP request"));
  }
  // Refused before routing, but every response still carries a request id.
  r.headers.emplace_back("X-Request-Id", "req_" + crypto::hex(crypto::random_bytes(12)));
  bool served = true;
  if (const auto* reshape = impl_->envelope_for({}, target.substr(0, target.find('?')), served))
    r.body = (*reshape)(r.body);
  return r;
}

void api::set_envelope(std::string prefix, envelope reshape) {
  impl_->envelopes.emplace_back(std::move(prefix), std::move(reshape));
}

void api::dedicate_listener(std::string listener, std::vector<std::string> prefixes,
                            envelope reshape) {
  impl_->listeners.emplace_back(std::move(listener),
                                impl::dedicated{std::move(prefixes), std::move(reshape)});
}

namespace {

/// A call with its ids, whose answer is logged (one line per request) and carries X-Request-Id.
call_ptr make_call(request&& message, std::string request_id, std::string trace_id,
                   responder reply) {
  auto c = std::make_shared<call>();
  c->req = std::move(message);
  c->started = std::chrono::steady_clock::now();
  c->request_id = std::move(request_id);
  c->trace_id = std::move(trace_id);
  auto query_start = c->req.target.find('?');
  c->path = c->req.target.substr(0, query_start);
  if (query_start != std::string::npos)
    c->query = parse_query(std::string_view(c->req.target).substr(query_start + 1));
  c->reply = [request_id = c->request_id, trace_id = c->trace_id, method = c->req.method,
              path = c->path, started = c->started, reply = std::move(reply)](response r) {
    r.headers.emplace_back("X-Request-Id", request_id);
    auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                    std::chrono::steady_clock::now() - started)
                    .count();
    auto level = r.status >= 500   ? spdlog::level::err
                 : r.status >= 400 ? spdlog::level::info
                                   : spdlog::level::debug;
    logs::get("http")->log(
      level,
      R"("event":"http.request","request_id":"{}","trace_id":"{}","method":"{}","path":"{}","status":{},"duration_us":{})",
      request_id, trace_id, method, logs::json_text(path), r.status, micros);
    reply(std::move(r));
  };
  return c;
}

}  // namespace

void api::route(const call_ptr& c) {
  bool served = true;
  if (const auto* reshape = impl_->envelope_for(c->req.listener, c->path, served))
    c->reply = [reshape, reply = std::move(c->reply)](response r) {
      if (r.status >= 400 && !r.enveloped) r.body = (*reshape)(r.body);
      reply(std::move(r));
    };
  if (!served)
    return reply_error(c, make_api_error(error_code::not_found, "no such endpoint: " + c->path));
  auto found = impl_->routes.match(c->req.method, c->path);
  if (found.kind == decltype(impl_->routes)::outcome::not_found)
    return reply_error(c, make_api_error(error_code::not_found, "no such endpoint: " + c->path));
  if (found.kind == decltype(impl_->routes)::outcome::method_not_allowed) {
    auto r = error_response(make_api_error(error_code::method_not_allowed,
                                           c->req.method + " is not allowed on " + c->path));
    r.headers.emplace_back("Allow", found.allow);
    return c->reply(std::move(r));
  }
  if (found.found->takes_body && !is_json_body(c->req))
    return reply_error(c, make_api_error(error_code::unsupported_media_type,
                                         "send the body as Content-Type: application/json"));
  c->params = std::move(found.params);
  found.found->handler(impl_->context, c);
}

void api::handle(request&& message, responder reply) {
  auto trace_id = trace_id_of(message.header("traceparent"));
  route(make_call(std::move(message), "req_" + crypto::hex(crypto::random_bytes(12)),
                  std::move(trace_id), std::move(reply)));
}

void api::mount(std::string method, std::string_view pattern, front_end handler, bool takes_body) {
  impl_->routes.add(
    std::move(method), pattern,
    [handler = std::move(handler)](const api_context&, const call_ptr& c) { handler(c); },
    takes_body);
}

void api::authenticate(const exchange_ptr& outer, std::function<void()> next) {
  authenticate_exchange(impl_->context, outer,
                        [next = std::move(next)](caf::event_based_actor*) { next(); });
}

void api::dispatch_as(const exchange& outer, request inner, responder reply,
                      std::shared_ptr<const front_end_call> front_end) {
  auto c = make_call(std::move(inner), outer.request_id, outer.trace_id, std::move(reply));
  c->who = outer.who;
  c->front_end = std::move(front_end);
  route(c);
}

const api_context& api::context() const { return impl_->context; }

request inner_request(const exchange& outer, std::string method, std::string target,
                      std::string body) {
  request r;
  r.method = std::move(method);
  r.target = std::move(target);
  r.body = std::move(body);
  r.remote = outer.req.remote;
  r.headers.emplace_back("host", std::string(outer.req.header("host")));
  if (!r.body.empty()) r.headers.emplace_back("content-type", "application/json");
  return r;
}

}  // namespace kiln::http
