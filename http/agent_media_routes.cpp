// agent.media's routes over the core; see the header.
#include "http/agent_media_routes.hpp"

#include "http/api.hpp"
#include "models/dialects/agent_media.hpp"
#include "models/json_writer.hpp"

#include <simdjson.h>

#include <memory>

namespace kiln::http {
namespace dom = simdjson::dom;

namespace {

response validation_error(std::string_view code, std::string_view message, int status = 400) {
  return enveloped_error(status, agent_media::render_error(code, message, "validation_error"));
}

/// A core answer passed on (api's passed_on); agent.media polls every 5 s, so a job in progress
/// says Retry-After: 5.
response relay(response core, const std::function<std::string(std::string_view)>& ok = {}) {
  auto out = passed_on(std::move(core), ok);
  if (out.status == 200)
    for (auto& [name, value] : out.headers)
      if (name == "Retry-After") value = "5";
  return out;
}

std::string id_of(const exchange& x, std::string_view prefix, std::string_view suffix = {}) {
  auto path = std::string_view(x.req.target).substr(0, x.req.target.find('?'));
  path.remove_prefix(prefix.size());
  if (!suffix.empty() && path.ends_with(suffix)) path.remove_suffix(suffix.size());
  return std::string(path);
}

void create(api& core, const exchange_ptr& x) {
  if (!is_json_body(x->req))
    return x->reply(validation_error("unsupported_media_type",
                                     "send the body as Content-Type: application/json", 415));
  core.authenticate(x, [&core, x] {
    auto translated = agent_media::translate_create(x->req.body);
    if (!translated) {
      auto e = to_api_error(translated.error());
      return x->reply(validation_error(e.field, e.message));
    }
    auto shared = std::make_shared<const agent_media::translated_create>(std::move(*translated));
    auto inner = inner_request(*x, "POST", "/v1/jobs", shared->core_body);
    // The seed defines no idempotency header; Kiln takes the core's (a harmless superset).
    for (const char* name : {"idempotency-key", "x-idempotency-key"})
      if (const auto* key = x->req.find_header(name)) inner.headers.emplace_back(name, *key);
    auto front_end = std::make_shared<front_end_call>();
    front_end->origin =
      job_origin{"agent_media", "ugc_video", "agent_media", shared->effective_input, "[]", 0};
    front_end->render_job = [shared](const job& j, const url_context&) {
      return agent_media::render_created(j, *shared);
    };
    core.dispatch_as(
      *x, std::move(inner), [x](response r) { x->reply(relay(std::move(r))); },
      std::move(front_end));
  });
}

void get_video(api& core, const exchange_ptr& x) {
  core.authenticate(x, [&core, x] {
    auto front_end = std::make_shared<front_end_call>();
    front_end->render_job = &agent_media::render_video;
    core.dispatch_as(
      *x, inner_request(*x, "GET", "/v1/jobs/" + id_of(*x, "/api/v1/videos/")),
      [x](response r) { x->reply(relay(std::move(r))); }, std::move(front_end));
  });
}

void cancel(api& core, const exchange_ptr& x) {
  core.authenticate(x, [&core, x] {
    auto id = id_of(*x, "/api/v1/videos/", "/cancel");
    core.dispatch_as(*x, inner_request(*x, "POST", "/v1/jobs/" + id + "/cancel"),
                     [x, id](response r) {
                       // The seed has no 409: a terminal job is a validation error (400).
                       if (r.status == 409) r.status = 400;
                       x->reply(relay(std::move(r), [&](std::string_view body) {
                         dom::parser parser;
                         dom::element done;
                         std::int64_t refunded = 0;
                         bool pending = false;
                         if (!parser.parse(body.data(), body.size()).get(done)) {
                           if (done["credits_refunded"].get_int64().get(refunded)) refunded = 0;
                           if (done["refund_pending"].get_bool().get(pending)) pending = false;
                         }
                         json_writer w;
                         w.begin_object()
                           .field("canceled", true)
                           .field("jobId", id)
                           .field("credits_refunded", refunded)
                           .field("refund_pending", pending);
                         return w.end_object().take();
                       }));
                     });
  });
}

}  // namespace

void mount_agent_media(api& core) {
  auto envelope = [](std::string_view body) { return agent_media::render_error(body); };
  for (const char* prefix : {"/api/v1/videos", "/api/v1/actors", "/api/v1/account"})
    core.set_envelope(prefix, envelope);
  core.mount(
    "POST", "/api/v1/videos", [&core](const exchange_ptr& x) { create(core, x); }, false);
  core.mount(
    "GET", "/api/v1/videos/{id}", [&core](const exchange_ptr& x) { get_video(core, x); }, false);
  core.mount(
    "POST", "/api/v1/videos/{id}/cancel", [&core](const exchange_ptr& x) { cancel(core, x); },
    false);
  mount_agent_media_actors(core);
  mount_agent_media_account(core);
}

}  // namespace kiln::http
