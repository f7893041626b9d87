// Killa's routes over the core; see the header.
#include "http/killa_routes.hpp"

#include "http/api.hpp"
#include "http/killa_device_link.hpp"
#include "http/router.hpp"
#include "models/json_read.hpp"
#include "models/json_writer.hpp"

#include <simdjson.h>

#include <memory>

namespace kiln::http {
namespace dom = simdjson::dom;

namespace {

using settings_ptr = std::shared_ptr<const killa::dialect_settings>;

response killa_error(int status, std::string_view code, std::string_view message,
                     std::string_view field = {}) {
  return enveloped_error(status, killa::render_error(code, message, field));
}

// -- routes ---------------------------------------------------------------------------------

void submit(api& core, const settings_ptr& settings, const exchange_ptr& x) {
  if (!is_json_body(x->req))
    return x->reply(killa_error(415, "unsupported_media_type",
                                "send the body as Content-Type: application/json"));
  core.authenticate(x, [&core, settings, x] {
    auto translated = killa::translate_submit(
      x->req.body, *settings, core.context().models ? *core.context().models : catalog::builtin());
    if (!translated) {
      auto e = to_api_error(translated.error());
      return x->reply(killa_error(http_status(e.code), error_name(e.code), e.message, e.field));
    }
    auto inner = inner_request(*x, "POST", "/v1/jobs", translated->core_body);
    // The key: X-Idempotency-Key (or Idempotency-Key) or the body's idempotencyKey; both must
    // agree when both are sent.
    std::string header_key(x->req.header("x-idempotency-key"));
    if (header_key.empty()) header_key = std::string(x->req.header("idempotency-key"));
    const auto& body_key = translated->body_key;
    if (!header_key.empty() && !body_key.empty() && header_key != body_key)
      return x->reply(killa_error(400, "invalid_request",
                                  "X-Idempotency-Key and idempotencyKey differ", "idempotencyKey"));
    auto key = header_key.empty() ? body_key : header_key;
    if (!key.empty()) inner.headers.emplace_back("idempotency-key", key);

    auto front_end = std::make_shared<front_end_call>();
    front_end->origin = job_origin{"killa",
                                   translated->task,
                                   "killa",
                                   translated->effective_input,
                                   translated->adjustments,
                                   settings->credit_usd_micros};
    front_end->fingerprint = "killa\n" + translated->fingerprint;
    front_end->render_job = [settings](const job& j, const url_context& urls) {
      return killa::render_job(j, urls, *settings, false);
    };
    core.dispatch_as(
      *x, std::move(inner), [x](response r) { x->reply(passed_on(std::move(r))); },
      std::move(front_end));
  });
}

void get_job(api& core, const settings_ptr& settings, const exchange_ptr& x) {
  auto id = query_param(x->req.target, "jobId");
  auto details_text = query_param(x->req.target, "includeDetails");
  bool details = details_text == "1" || details_text == "true";
  core.authenticate(x, [&core, settings, x, id, details] {
    if (id.empty())
      return x->reply(killa_error(400, "invalid_request", "jobId is required", "jobId"));
    auto front_end = std::make_shared<front_end_call>();
    front_end->render_job = [settings, details](const job& j, const url_context& urls) {
      return killa::render_job(j, urls, *settings, details);
    };
    auto target = "/v1/jobs/" + id;
    core.dispatch_as(
      *x, inner_request(*x, "GET", target),
      [&core, x, target, details](response r) {
        if (!details || r.status != 200) return x->reply(passed_on(std::move(r)));
        // The detailed view adds the job's timeline.
        core.dispatch_as(
          *x, inner_request(*x, "GET", target + "/events"),
          [x, view = std::make_shared<response>(std::move(r))](response events) {
            dom::parser parser;
            dom::array data;
            if (events.status == 200 && !parser.parse(events.body)["data"].get_array().get(data)) {
              view->body.pop_back();  // the view's closing brace
              view->body += R"(,"events":)" + simdjson::minify(data) + "}";
            }
            x->reply(passed_on(std::move(*view)));
          });
      },
      std::move(front_end));
  });
}

void balance(api& core, const settings_ptr& settings, const exchange_ptr& x) {
  core.authenticate(x, [&core, settings, x] {
    core.dispatch_as(*x, inner_request(*x, "GET", "/v1/balance"), [settings, x](response r) {
      x->reply(passed_on(std::move(r), [&](std::string_view body) {
        dom::parser parser;
        dom::element b = parser.parse(body.data(), body.size()).value_unsafe();
        auto credits = [&](const char* name) { return json_read::integer_or(b[name]); };
        auto money = [&](const char* name) { return killa::usd_micros(credits(name), *settings); };
        json_writer w;
        w.begin_object()
          .field("ok", true)
          .field("usdMicros", money("available"))
          .field("usd", killa::usd_text(money("available")))
          .field("heldUsdMicros", money("held"))
          .field("usedUsdMicros", money("used"))
          .key("credits")
          .begin_object()
          .field("available", credits("available"))
          .field("held", credits("held"))
          .field("used", credits("used"))
          .field("granted", credits("granted"))
          .end_object()
          .field("creditUsdMicros", settings->credit_usd_micros);
        return w.end_object().take();
      }));
    });
  });
}

void list_keys(api& core, const exchange_ptr& x) {
  core.authenticate(x, [&core, x] {
    core.dispatch_as(*x, inner_request(*x, "GET", "/v1/keys"), [x](response r) {
      x->reply(passed_on(std::move(r), [](std::string_view body) {
        json_writer w;
        w.begin_object().field("ok", true).key("keys").begin_array();
        for_each_listed_key(body, [&](const listed_key& k) {
          w.begin_object()
            .field("keyPrefix", k.prefix)
            .field("label", k.name)
            .field("createdAt", k.created_at)
            .key("lastUsedAt");
          if (k.last_used_at.empty()) w.null();
          else w.value(k.last_used_at);
          w.end_object();
        });
        return w.end_array().end_object().take();
      }));
    });
  });
}

void create_key(api& core, const exchange_ptr& x) {
  if (!is_json_body(x->req))
    return x->reply(killa_error(415, "unsupported_media_type",
                                "send the body as Content-Type: application/json"));
  dom::parser parser;
  dom::element body;
  if (parser.parse(x->req.body).get(body) || !body.is_object())
    return x->reply(killa_error(400, "invalid_json", "the body must be a JSON object"));
  if (!body["idToken"].error())
    return x->reply(killa_error(501, "not_supported",
                                "Google sign-in is not available on this self-hosted server; "
                                "create keys with an API key"));
  std::string_view label = json_read::text_or(body["label"]);
  if (label.empty()) label = "Killa key";
  json_writer core_body;
  core_body.begin_object().field("name", label).end_object();
  core.authenticate(x, [&core, x, core_body = core_body.take()] {
    core.dispatch_as(*x, inner_request(*x, "POST", "/v1/keys", core_body), [x](response r) {
      x->reply(passed_on(std::move(r), [](std::string_view created) {
        dom::parser p;
        dom::element k = p.parse(created.data(), created.size()).value_unsafe();
        json_writer w;
        w.begin_object()
          .field("ok", true)
          .field("apiKey", json_read::text_or(k["key"]))
          .field("keyPrefix", json_read::text_or(k["prefix"]))
          .field("label", json_read::text_or(k["name"]))
          .field("keyId", json_read::text_or(k["id"]));
        return w.end_object().take();
      }));
    });
  });
}

/// Revokes the one key whose prefix starts with keyPrefix (the seed's rule: revoke by prefix).
void revoke_key(api& core, const exchange_ptr& x) {
  dom::parser parser;
  std::string_view wanted;
  if (!is_json_body(x->req) || parser.parse(x->req.body)["keyPrefix"].get_string().get(wanted) ||
      wanted.empty())
    return x->reply(killa_error(400, "invalid_request", "keyPrefix is required", "keyPrefix"));
  core.authenticate(x, [&core, x, wanted = std::string(wanted)] {
    core.dispatch_as(*x, inner_request(*x, "GET", "/v1/keys"), [&core, x, wanted](response r) {
      if (r.status != 200) return x->reply(passed_on(std::move(r)));
      std::vector<std::string> ids;
      for_each_listed_key(r.body, [&](const listed_key& k) {
        if (!k.id.empty() && k.prefix.starts_with(wanted)) ids.emplace_back(k.id);
      });
      if (ids.empty())
        return x->reply(
          killa_error(404, "not_found", "no active key has that prefix", "keyPrefix"));
      if (ids.size() > 1)
        return x->reply(killa_error(
          400, "invalid_request",
          "keyPrefix matches " + std::to_string(ids.size()) + " keys; send a longer prefix",
          "keyPrefix"));
      core.dispatch_as(
        *x, inner_request(*x, "DELETE", "/v1/keys/" + ids.front()), [x, wanted](response done) {
          x->reply(passed_on(std::move(done), [&](std::string_view) {
            json_writer w;
            w.begin_object().field("ok", true).field("revoked", true).field("keyPrefix", wanted);
            return w.end_object().take();
          }));
        });
    });
  });
}

void health(api& core, const exchange_ptr& x) {
  core.dispatch_as(*x, inner_request(*x, "GET", "/readyz"), [x](response r) {
    json_writer w;
    bool ready = r.status == 200;
    w.begin_object().field("ok", ready).field("status", ready ? "ok" : "unavailable");
    auto body = w.end_object().take();
    x->reply(ready ? json_response(200, std::move(body)) : enveloped_error(503, std::move(body)));
  });
}

/// A discovery document, made for the URL the client reached.
void document(const exchange_ptr& x, std::string content_type,
              std::string (*render)(std::string_view base)) {
  auto host = x->req.header("host");
  response r;
  r.content_type = std::move(content_type);
  r.body = render("http://" + std::string(host.empty() ? "127.0.0.1" : host));
  x->reply(std::move(r));
}

/// Routes of the seed that need services outside a self-hosted server.
constexpr std::string_view not_here[] = {"/api/v1/auth/google",
                                         "/api/v1/auth/browser/google",
                                         "/api/v1/auth/email/start",
                                         "/api/v1/auth/email/verify",
                                         "/api/v1/auth/browser/email/verify",
                                         "/api/v1/auth/browser/session",
                                         "/api/v1/checkout/stripe",
                                         "/api/v1/checkout/crypto",
                                         "/api/v1/claim/stripe",
                                         "/api/v1/claim/crypto",
                                         "/api/v1/credits/purchase/x402",
                                         "/api/v1/webhooks/stripe",
                                         "/api/v1/webhooks/crypto",
                                         "/api/v1/affiliates/me",
                                         "/api/v1/affiliates/capture",
                                         "/api/v1/affiliates/validate-code",
                                         "/api/v1/studio/snapshot",
                                         "/api/v1/studio/projects"};

}  // namespace

void mount_killa(api& core, killa::dialect_settings settings, std::vector<killa::package> packages,
                 std::string own_listener) {
  auto shared = std::make_shared<const killa::dialect_settings>(std::move(settings));
  // Every error under /api/v1 is in Killa's envelope, those the core makes before a route runs
  // (401 and 429 from authentication, 404, 405, 413, 431) too.
  auto envelope = [](std::string_view body) { return killa::render_error(body); };
  core.set_envelope("/api/v1/", envelope);
  if (!own_listener.empty())
    core.dedicate_listener(
      std::move(own_listener),
      {"/api/v1/", "/openapi.json", "/llms.txt", "/.well-known/", "/skills/", "/v1/files/"},
      envelope);
  auto route = [&core](std::string method, std::string_view path, front_end handler) {
    core.mount(std::move(method), path, std::move(handler), false);
  };
  route("POST", "/api/v1/media/jobs", [&core, shared](auto& x) { submit(core, shared, x); });
  route("GET", "/api/v1/media/jobs", [&core, shared](auto& x) { get_job(core, shared, x); });
  route("GET", "/api/v1/balance", [&core, shared](auto& x) { balance(core, shared, x); });
  route("GET", "/api/v1/keys", [&core](auto& x) { list_keys(core, x); });
  route("POST", "/api/v1/keys", [&core](auto& x) { create_key(core, x); });
  route("POST", "/api/v1/keys/revoke", [&core](auto& x) { revoke_key(core, x); });
  route("GET", "/api/v1/health", [&core](auto& x) { health(core, x); });
  mount_killa_device_link(core);
  route("GET", "/api/v1/packages",
        [list = killa::render_packages(packages)](auto& x) { x->reply(json_response(200, list)); });
  route("GET", "/openapi.json",
        [](auto& x) { document(x, "application/json", &killa::render_openapi); });
  route("GET", "/llms.txt",
        [](auto& x) { document(x, "text/plain; charset=utf-8", &killa::render_llms_txt); });
  route("GET", "/.well-known/agent-skills.json",
        [](auto& x) { document(x, "application/json", &killa::render_skill_manifest); });
  route("GET", "/skills/killatamata/SKILL.md",
        [](auto& x) { document(x, "text/markdown; charset=utf-8", &killa::render_skill_md); });
  for (auto path : not_here)
    for (const char* method : {"GET", "POST", "DELETE"})
      core.mount(
        method, path,
        [](const exchange_ptr& x) {
          x->reply(killa_error(501, "not_supported",
                               "this route needs a service outside a self-hosted Kiln "
                               "(sign-in, payments, affiliates or Studio)"));
        },
        false);
}

}  // namespace kiln::http
