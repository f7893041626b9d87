// Killa's discovery documents; see the header.
#include "models/dialects/killa_discovery.hpp"

#include "base/version.hpp"
#include "models/json_writer.hpp"

namespace kiln::killa {

const std::vector<route_doc>& route_docs() {
  static const std::vector<route_doc> routes{
    {"GET", "/api/v1/health", "health check", false},
    {"POST", "/api/v1/media/jobs",
     "submit a media job: {task, input, completionCallbackUrl?, idempotencyKey?}", true},
    {"GET", "/api/v1/media/jobs",
     "a job's status and downloadableOutputUrls: ?jobId=...[&includeDetails=1]", true},
    {"GET", "/api/v1/balance", "the balance in USD", true},
    {"GET", "/api/v1/keys", "list API keys", true},
    {"POST", "/api/v1/keys", "create an API key: {label}", true},
    {"POST", "/api/v1/keys/revoke", "revoke an API key by its prefix: {keyPrefix}", true},
    {"POST", "/api/v1/device/link/start", "start a device link: {keyLabel}", false},
    {"GET", "/api/v1/device/link/request", "a device link's state: ?userCode=...", false},
    {"POST", "/api/v1/device/link/approve", "approve a device link: {userCode, keyLabel}", true},
    {"POST", "/api/v1/device/link/poll", "poll a device link for its key: {deviceCode}", false},
    {"GET", "/api/v1/packages", "credit packages", false},
  };
  return routes;
}

std::string render_openapi(std::string_view base) {
  json_writer w;
  w.begin_object()
    .field("openapi", "3.1.0")
    .key("info")
    .begin_object()
    .field("title", "Killa Tamata API on Kiln")
    .field("version", kiln::version)
    .field("description",
           "Killa Tamata's media job API served by Kiln. Jobs are submitted with a task and its "
           "input and polled by jobId; tasks: image.generate, video.generate, audio.speak, "
           "ace.step.create, moss.sound.effect.")
    .end_object()
    .key("servers")
    .begin_array()
    .begin_object()
    .field("url", base)
    .end_object()
    .end_array()
    .key("components")
    .begin_object()
    .key("securitySchemes")
    .begin_object()
    .key("bearer")
    .begin_object()
    .field("type", "http")
    .field("scheme", "bearer")
    .end_object()
    .key("apiKey")
    .begin_object()
    .field("type", "apiKey")
    .field("in", "header")
    .field("name", "x-api-key")
    .end_object()
    .end_object()
    .end_object()
    .key("paths")
    .begin_object();
  // Routes sharing a path are one path item with one operation per method.
  const auto& routes = route_docs();
  for (std::size_t i = 0; i < routes.size(); ++i) {
    bool first = i == 0 || routes[i - 1].path != routes[i].path;
    if (!first) continue;
    w.key(routes[i].path).begin_object();
    for (std::size_t j = i; j < routes.size() && routes[j].path == routes[i].path; ++j) {
      std::string method(routes[j].method);
      for (auto& c : method) c = static_cast<char>(c - 'A' + 'a');
      w.key(method).begin_object().field("summary", routes[j].summary);
      if (routes[j].needs_key) {
        w.key("security").begin_array();
        w.begin_object().key("bearer").begin_array().end_array().end_object();
        w.begin_object().key("apiKey").begin_array().end_array().end_object();
        w.end_array();
      }
      w.key("responses")
        .begin_object()
        .key("200")
        .begin_object()
        .field("description", "{ok: true, ...}")
        .end_object()
        .key("default")
        .begin_object()
        .field("description", "{ok: false, error, details: {code, field?}}")
        .end_object()
        .end_object()
        .end_object();
    }
    w.end_object();
  }
  w.end_object().end_object();
  return w.take();
}

std::string render_llms_txt(std::string_view base) {
  std::string out =
    "# Killa Tamata API (served by Kiln)\n\n"
    "> Media generation jobs paid from a prepaid USD balance. Submit a job with a "
    "task and its input, then poll it by jobId until status is completed.\n\n"
    "Base URL: " +
    std::string(base) +
    "\nAuth: `Authorization: Bearer <key>` or `x-api-key: <key>`.\n"
    "Idempotency: `X-Idempotency-Key` (or body `idempotencyKey`) on submits.\n\n"
    "## Routes\n\n";
  for (const auto& r : route_docs())
    out += "- `" + std::string(r.method) + " " + std::string(r.path) +
           "`: " + std::string(r.summary) + (r.needs_key ? "" : " (no key)") + "\n";
  out += "\n## Docs\n\n- [OpenAPI](" + std::string(base) + "/openapi.json)\n- [Agent skill](" +
         std::string(base) + "/skills/killatamata/SKILL.md)\n";
  return out;
}

std::string render_skill_manifest(std::string_view base) {
  json_writer w;
  w.begin_object()
    .key("skills")
    .begin_array()
    .begin_object()
    .field("name", "killatamata")
    .field("description",
           "Generate images, video, speech, music and sound effects through the Killa Tamata "
           "media job API.")
    .field("url", std::string(base) + "/skills/killatamata/SKILL.md")
    .end_object()
    .end_array()
    .end_object();
  return w.take();
}

std::string render_skill_md(std::string_view base) {
  return "---\nname: killatamata\ndescription: Generate media (images, video, speech, music, sound "
         "effects) with the Killa Tamata API.\n---\n\n# Killa Tamata\n\n"
         "1. Get a key: `POST " +
         std::string(base) +
         "/api/v1/device/link/start` with `{\"keyLabel\": \"agent\"}`, show the user the "
         "userCode to approve, then `POST /api/v1/device/link/poll` with the deviceCode until it "
         "returns apiKey. Or use a key the user gives you.\n"
         "2. Check `GET /api/v1/balance`.\n"
         "3. Submit: `POST /api/v1/media/jobs` with `{\"task\": \"image.generate\", \"input\": "
         "{\"prompt\": \"...\", \"width\": 1024, \"height\": 1024}}` and an "
         "`X-Idempotency-Key` header, so a retry never pays twice.\n"
         "4. Poll `GET /api/v1/media/jobs?jobId=<externalJobId>` every few seconds until status "
         "is completed, failed or canceled; download `downloadableOutputUrls`.\n\n"
         "Tasks: image.generate, video.generate, audio.speak (input.text), ace.step.create "
         "(input.tags, durationSeconds 15-240), moss.sound.effect (durationSeconds 1-30).\n";
}

std::string render_packages(const std::vector<package>& packages) {
  json_writer w;
  w.begin_object().field("ok", true).key("packages").begin_array();
  for (const auto& p : packages)
    w.begin_object()
      .field("packageCode", p.code)
      .field("label", p.label)
      .field("usdCents", p.usd_cents)
      .field("credits", p.credits)
      .end_object();
  return w.end_array().end_object().take();
}

}  // namespace kiln::killa
