// MercaDream's routes over the core; see the header.
#include "http/mercadream_routes.hpp"

#include "config/settings.hpp"
#include "http/api.hpp"
#include "http/router.hpp"
#include "models/catalog.hpp"
#include "models/dialects/mercadream.hpp"
#include "models/json_writer.hpp"

#include <memory>

namespace kiln::http {
namespace {

response error(int status, std::string_view code, std::string_view message,
               std::string_view param = {}) {
  return enveloped_error(status, mercadream::render_error(code, message, param));
}

/// The model's estimate per job, for estimated_completion (0 for an unknown model).
std::uint32_t estimate_of(const api& core, const std::string& model) {
  const auto* entry = core.context().models->find(model);
  return entry ? entry->estimated_seconds : 0;
}

using translate_fn = caf::expected<mercadream::translated> (*)(std::string_view);

/// POST /v2/generate, /v2/speech, /v2/music: the job made on the core as the caller, after the
/// plan's gate on resolution (a plan's max_pixels; 403 plan_limit).
void create(api& core, const exchange_ptr& x, translate_fn translate, std::string task) {
  if (!is_json_body(x->req))
    return x->reply(error(415, "unsupported_media_type", "send the body as application/json"));
  core.authenticate(x, [&core, x, translate, task] {
    auto translated = translate(x->req.body);
    if (!translated) {
      auto e = to_api_error(translated.error());
      return x->reply(error(400, error_name(e.code), e.message, e.field));
    }
    const auto* plan = core.context().config->find_plan(x->who->plan);
    if (plan && plan->max_pixels > 0 && !translated->resolution.empty() &&
        mercadream::pixels_of(translated->resolution) > plan->max_pixels)
      return x->reply(
        error(403, "plan_limit",
              "the " + x->who->plan + " plan does not make " + translated->resolution + " videos",
              "resolution"));
    auto front_end = std::make_shared<front_end_call>();
    front_end->origin = job_origin{"mercadream", task, "mercadream", translated->input, "[]", 0};
    front_end->render_job = [&core](const job& j, const url_context& urls) {
      return mercadream::render_created(j, estimate_of(core, j.spec.model), urls.now_ms);
    };
    auto inner = inner_request(*x, "POST", "/v1/jobs", translated->core_body);
    for (const char* name : {"idempotency-key", "x-idempotency-key"})
      if (const auto* key = x->req.find_header(name)) inner.headers.emplace_back(name, *key);
    core.dispatch_as(
      *x, std::move(inner), [x](response r) { x->reply(passed_on(std::move(r))); },
      std::move(front_end));
  });
}

void get_job(api& core, const exchange_ptr& x) {
  core.authenticate(x, [&core, x] {
    auto path = std::string_view(x->req.target).substr(0, x->req.target.find('?'));
    auto id = std::string(path.substr(std::string_view("/v2/jobs/").size()));
    auto front_end = std::make_shared<front_end_call>();
    front_end->render_job = [&core](const job& j, const url_context& urls) {
      return mercadream::render_job(j, urls, estimate_of(core, j.spec.model));
    };
    core.dispatch_as(
      *x, inner_request(*x, "GET", "/v1/jobs/" + id),
      [x](response r) { x->reply(passed_on(std::move(r))); }, std::move(front_end));
  });
}

/// GET /v2/jobs and /v2/vault: the core's listing newest first, `before` a time.
void list(api& core, const exchange_ptr& x, bool vault) {
  core.authenticate(x, [&core, x, vault] {
    const auto& target = x->req.target;
    std::string core_target = "/v1/jobs?limit=";
    auto limit = query_param(target, "limit");
    core_target += limit.empty() ? "20" : limit;
    auto status = vault ? std::string("succeeded") : query_param(target, "status");
    if (status == "completed") status = "succeeded";
    if (!status.empty()) {
      if (status != "queued" && status != "processing" && status != "succeeded" &&
          status != "failed" && status != "canceled")
        return x->reply(error(400, "invalid_request",
                              "status must be queued, processing, completed, failed or canceled",
                              "status"));
      core_target += "&status=" + status;
    }
    if (auto before = query_param(target, "before"); !before.empty()) {
      if (!parse_time_ms(before))
        return x->reply(error(400, "invalid_request",
                              "before must be an ISO 8601 UTC time, e.g. 2025-06-01T14:22:31Z",
                              "before"));
      core_target += "&created_before=" + before;
    }
    auto front_end = std::make_shared<front_end_call>();
    if (vault)
      front_end->render_page = [days = core.context().config->outputs.retention_days](
                                 const job_page& page, const url_context& urls) {
        return mercadream::render_vault(page, urls, days);
      };
    else front_end->render_page = &mercadream::render_page;
    core.dispatch_as(
      *x, inner_request(*x, "GET", core_target),
      [x](response r) { x->reply(passed_on(std::move(r))); }, std::move(front_end));
  });
}

}  // namespace

void mount_mercadream(api& core) {
  core.set_envelope("/v2", [](std::string_view body) { return mercadream::render_error(body); });
  core.mount(
    "POST", "/v2/generate",
    [&core](const exchange_ptr& x) {
      create(core, x, &mercadream::translate_generate, "video.generate");
    },
    false);
  core.mount(
    "POST", "/v2/speech",
    [&core](const exchange_ptr& x) { create(core, x, &mercadream::translate_speech, "speech"); },
    false);
  core.mount(
    "POST", "/v2/music",
    [&core](const exchange_ptr& x) { create(core, x, &mercadream::translate_music, "music"); },
    false);
  core.mount(
    "GET", "/v2/jobs/{id}", [&core](const exchange_ptr& x) { get_job(core, x); }, false);
  core.mount(
    "GET", "/v2/jobs", [&core](const exchange_ptr& x) { list(core, x, false); }, false);
  core.mount(
    "GET", "/v2/vault", [&core](const exchange_ptr& x) { list(core, x, true); }, false);
}

}  // namespace kiln::http
