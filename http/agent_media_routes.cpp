// agent.media's routes over the core; see the header.
#include "http/agent_media_routes.hpp"

#include "http/api.hpp"
#include "http/router.hpp"
#include "models/dialects/agent_media.hpp"
#include "models/dialects/agent_media_plans.hpp"
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

void list_videos(api& core, const exchange_ptr& x) {
  core.authenticate(x, [&core, x] {
    const auto& target = x->req.target;
    auto core_target =
      agent_media::core_list_target(query_param(target, "limit"), query_param(target, "offset"),
                                    query_param(target, "status"), query_param(target, "sort"));
    if (!core_target) {
      auto e = to_api_error(core_target.error());
      return x->reply(validation_error(e.field, e.message));
    }
    auto front_end = std::make_shared<front_end_call>();
    front_end->render_page = &agent_media::render_video_page;
    core.dispatch_as(
      *x, inner_request(*x, "GET", *core_target),
      [x](response r) { x->reply(relay(std::move(r))); }, std::move(front_end));
  });
}

/// Soft delete: a job still running is refused (cannot_delete, 400 as the seed has no 409).
void delete_video(api& core, const exchange_ptr& x) {
  core.authenticate(x, [&core, x] {
    auto id = id_of(*x, "/api/v1/videos/");
    core.dispatch_as(*x, inner_request(*x, "DELETE", "/v1/jobs/" + id), [x, id](response r) {
      if (r.status == 409) r.status = 400;
      x->reply(relay(std::move(r), [&](std::string_view body) {
        dom::parser parser;
        std::string_view deleted_at;
        if (parser.parse(body.data(), body.size())["deleted_at"].get_string().get(deleted_at))
          deleted_at = {};
        json_writer w;
        w.begin_object().field("success", true).field("jobId", id).field("deletedAt", deleted_at);
        return w.end_object().take();
      }));
    });
  });
}

/// GET /api/v1/account and /api/v1/account/usage: the core's answer in agent.media's view.
void reshaped(api& core, const exchange_ptr& x, std::string core_target,
              std::string (*render)(std::string_view)) {
  core.authenticate(x, [&core, x, core_target = std::move(core_target), render] {
    core.dispatch_as(*x, inner_request(*x, "GET", core_target), [x, render](response r) {
      x->reply(relay(std::move(r), [render](std::string_view body) { return render(body); }));
    });
  });
}

void get_usage(api& core, const exchange_ptr& x) {
  auto period = query_param(x->req.target, "period");
  if (period.empty()) period = "30d";
  if (period != "7d" && period != "30d" && period != "90d")
    return x->reply(validation_error("invalid_period", "period must be 7d, 30d or 90d"));
  reshaped(core, x, "/v1/usage?period=" + period, &agent_media::render_usage);
}

}  // namespace

void mount_agent_media(api& core) {
  auto envelope = [](std::string_view body) { return agent_media::render_error(body); };
  for (const char* prefix : {"/api/v1/videos", "/api/v1/actors", "/api/v1/account"})
    core.set_envelope(prefix, envelope);
  core.mount(
    "POST", "/api/v1/videos", [&core](const exchange_ptr& x) { create(core, x); }, false);
  core.mount(
    "GET", "/api/v1/videos", [&core](const exchange_ptr& x) { list_videos(core, x); }, false);
  core.mount(
    "GET", "/api/v1/videos/{id}", [&core](const exchange_ptr& x) { get_video(core, x); }, false);
  core.mount(
    "DELETE", "/api/v1/videos/{id}", [&core](const exchange_ptr& x) { delete_video(core, x); },
    false);
  core.mount(
    "POST", "/api/v1/videos/{id}/cancel", [&core](const exchange_ptr& x) { cancel(core, x); },
    false);
  core.mount(
    "GET", "/api/v1/account",
    [&core](const exchange_ptr& x) {
      reshaped(core, x, "/v1/account", &agent_media::render_account);
    },
    false);
  core.mount(
    "GET", "/api/v1/account/usage", [&core](const exchange_ptr& x) { get_usage(core, x); }, false);
  mount_agent_media_actors(core);
  mount_agent_media_account(core);
}

}  // namespace kiln::http
