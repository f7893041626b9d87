// Killa Tamata translations; see the header.
#include "models/dialects/killa.hpp"

#include "models/json_read.hpp"
#include "models/json_writer.hpp"

#include <simdjson.h>

#include <algorithm>
#include <span>

namespace kiln::killa {
namespace dom = simdjson::dom;
using json_read::text_or;

namespace {

caf::error bad(std::string field, std::string message) {
  return make_error(error_code::invalid_request, std::move(message), std::move(field));
}

/// How one Killa input field becomes part of the core body.
enum class target : std::uint8_t { prompt, width, height, seed, duration, option, ignored };
struct field_rule {
  std::string_view name;  ///< Killa's name
  target to;
  std::string_view option;  ///< target::option: the model's option name
};

/// The fields of each task Kiln runs, in Killa's names. Media fields answer 400 until Kiln
/// takes input media.
struct task_rules {
  std::string_view task;
  std::vector<field_rule> fields;
};

const std::vector<task_rules>& all_tasks() {
  static const std::vector<task_rules> tasks{
    {"image.generate",
     {{"prompt", target::prompt, {}},
      {"width", target::width, {}},
      {"height", target::height, {}},
      {"seed", target::seed, {}},
      {"outputFormat", target::option, "output_format"},
      {"highDetail", target::option, "high_detail"}}},
    {"video.generate",
     {{"prompt", target::prompt, {}},
      {"durationSeconds", target::duration, {}},
      {"seed", target::seed, {}},
      {"extremeQuality", target::option, "extreme_quality"},
      {"aspectRatio", target::option, "aspect_ratio"},
      {"width", target::ignored, {}},
      {"height", target::ignored, {}},
      {"interpolationFps", target::ignored, {}},
      {"sampledFps", target::ignored, {}}}},
    {"audio.speak",
     {{"text", target::prompt, {}},
      {"provider", target::ignored, {}},
      {"voiceName", target::option, "voice_name"},
      {"voiceDescription", target::option, "voice_description"},
      {"instructions", target::ignored, {}},
      {"language", target::ignored, {}},
      {"quality", target::ignored, {}},
      {"seed", target::seed, {}}}},
    {"ace.step.create",
     {{"tags", target::prompt, {}},
      {"prompt", target::prompt, {}},
      {"durationSeconds", target::duration, {}},
      {"quality", target::option, "quality"},
      {"qualityPreset", target::ignored, {}},
      {"lyrics", target::ignored, {}},
      {"language", target::ignored, {}},
      {"seed", target::seed, {}}}},
    {"moss.sound.effect",
     {{"prompt", target::prompt, {}},
      {"durationSeconds", target::duration, {}},
      {"quality", target::ignored, {}},
      {"topK", target::ignored, {}},
      {"maxNewTokens", target::ignored, {}},
      {"seed", target::seed, {}}}},
  };
  return tasks;
}

/// Tasks of the seed that need input media, which Kiln does not take yet.
constexpr std::string_view media_tasks[] = {"image.edit", "video.combine", "video.resize",
                                            "audio.annotation.reference", "trellis.generate"};
/// Input fields that carry media, in any task.
constexpr std::string_view media_fields[] = {
  "referenceImages",    "referenceImageUrls",    "sourceImage",     "sourceImageUrl",
  "startFrameImage",    "startFrameImageUrl",    "finalFrameImage", "finalFrameImageUrl",
  "overlapFrameImages", "overlapFrameImageUrls", "referenceAudio",  "referenceAudioUrl",
  "videoUrls",          "sourceVideoUrl",        "sourceAudio",     "sourceAudioUrl"};

bool contains(std::span<const std::string_view> list, std::string_view name) {
  return std::find(list.begin(), list.end(), name) != list.end();
}

}  // namespace

std::map<std::string, std::string> default_tasks() {
  return {{"image.generate", "qwen-image"}, {"video.generate", "ltx-2-3"},
          {"audio.speak", "omnivoice-tts"}, {"audio.speak:gemini", "gemini-tts"},
          {"ace.step.create", "ace-step"},  {"moss.sound.effect", "moss-sound-effect"}};
}

std::string_view status_word(job_status status) {
  return status == job_status::succeeded ? "completed" : status_name(status);
}

std::int64_t usd_micros(std::int64_t credits, const dialect_settings& settings) {
  return credits * settings.credit_usd_micros;
}

std::string usd_text(std::int64_t micros) {
  bool negative = micros < 0;
  std::uint64_t value = negative ? 0 - static_cast<std::uint64_t>(micros) : micros;
  std::string fraction = std::to_string(value % 1'000'000);
  fraction.insert(0, 6 - fraction.size(), '0');
  while (fraction.size() > 2 && fraction.back() == '0') fraction.pop_back();
  return (negative ? "-" : "") + std::to_string(value / 1'000'000) + "." + fraction;
}

caf::expected<translated_submit> translate_submit(std::string_view body,
                                                  const dialect_settings& settings,
                                                  const catalog& models) {
  thread_local dom::parser parser;
  dom::object root;
  if (parser.parse(body.data(), body.size()).get_object().get(root))
    return make_error(error_code::invalid_json, "the body must be a JSON object");
  translated_submit out;
  std::string_view callback;
  dom::object input;
  bool has_input = false;
  for (auto [key, value] : root) {
    if (key == "task") out.task = std::string(text_or(value));
    else if (key == "input") {
      if (value.get_object().get(input)) return bad("input", "input must be an object");
      has_input = true;
    } else if (key == "completionCallbackUrl") {
      if (value.get_string().get(callback))
        return bad("completionCallbackUrl", "completionCallbackUrl must be a URL string");
    } else if (key == "idempotencyKey") {
      std::string_view idempotency_key;
      if (value.get_string().get(idempotency_key) || idempotency_key.empty())
        return bad("idempotencyKey", "idempotencyKey must be a non-empty string");
      out.body_key = std::string(idempotency_key);
    } else {
      return bad(std::string(key), "unknown field '" + std::string(key) + "'");
    }
  }
  if (out.task.empty()) return bad("task", "task is required, e.g. \"image.generate\"");
  if (contains(media_tasks, out.task))
    return bad("task", "task " + out.task +
                         " needs input media, which this server does not "
                         "take yet");
  auto rules = std::find_if(all_tasks().begin(), all_tasks().end(),
                            [&](const task_rules& t) { return t.task == out.task; });
  if (rules == all_tasks().end()) return bad("task", "unknown task '" + out.task + "'");
  if (!has_input) return bad("input", "input is required");

  // The model: the task's, or for audio.speak the Gemini provider's.
  auto route = out.task;
  dom::element provider;
  if (out.task == "audio.speak" && !input["provider"].get(provider) &&
      text_or(provider) == "gemini")
    route = "audio.speak:gemini";
  auto mapped = settings.tasks.find(route);
  if (mapped == settings.tasks.end()) return bad("task", "task " + out.task + " is not enabled");
  const model_entry* model = models.find(mapped->second);
  if (!model)
    return bad("task", "task " + out.task + " maps to model " + mapped->second +
                         ", which the catalog does not have");

  json_writer params, options, adjustments;
  params.begin_object();
  options.begin_object();
  adjustments.begin_array();
  std::string prompt;
  for (auto [key, value] : input) {
    auto name = "input." + std::string(key);
    if (contains(media_fields, key))
      return bad(name, name + " is input media, which this server does not take yet");
    auto rule = std::find_if(rules->fields.begin(), rules->fields.end(),
                             [&](const field_rule& r) { return r.name == key; });
    if (rule == rules->fields.end())
      return bad(name, "unknown field " + name + " for task " + out.task);
    switch (rule->to) {
      case target::prompt:
        if (text_or(value).empty()) return bad(name, name + " must be a non-empty string");
        prompt = std::string(text_or(value));
        break;
      case target::width:
      case target::height:
      case target::seed:
      case target::duration: {
        if (!value.is_uint64() && !value.is_int64()) return bad(name, name + " must be an integer");
        std::string_view core = rule->to == target::width    ? "width"
                                : rule->to == target::height ? "height"
                                : rule->to == target::seed   ? "seed"
                                                             : "duration_seconds";
        params.key(core).raw(simdjson::minify(value));
        break;
      }
      case target::option: {
        std::string text = simdjson::minify(value);
        if (rule->option == "output_format" && text == "\"jpg\"") text = "\"jpeg\"";
        if (!model->find_option(rule->option)) {
          adjustments.value(name + " does not apply to model " + model->id + ": ignored");
          break;
        }
        options.key(rule->option).raw(text);
        break;
      }
      case target::ignored:
        adjustments.value(name + " is accepted and not used by model " + model->id);
        break;
    }
  }
  if (prompt.empty())
    return bad(out.task == "audio.speak" ? "input.text" : "input.prompt",
               out.task == "audio.speak" ? "input.text is required" : "input.prompt is required");
  params.end_object();
  options.end_object();
  out.adjustments = adjustments.end_array().take();
  out.effective_input = simdjson::minify(input);

  json_writer core;
  core.begin_object()
    .field("type", model->type)
    .field("model", model->id)
    .field("prompt", prompt)
    .key("params")
    .raw(params.str())
    .key("options")
    .raw(options.str());
  if (!callback.empty()) core.field("webhook_url", callback);
  out.core_body = core.end_object().take();
  // What idempotency compares: the task and its input, never the callback (the first request
  // owns it; a retry with another callback replays the first job).
  out.fingerprint = out.task + "\n" + out.effective_input;
  return out;
}

std::string render_job(const job& v, const url_context& urls, const dialect_settings& settings,
                       bool details) {
  json_writer w;
  const auto& origin = v.spec.origin;
  w.begin_object()
    .field("ok", true)
    .field("task", origin.task.empty() ? std::string("media") : origin.task)
    .field("externalJobId", v.id)
    .field("jobId", v.id)
    .field("status", status_word(v.status))
    .field("model", v.spec.model)
    .key("effectiveInput")
    .raw(origin.input.empty() ? std::string_view("{}") : origin.input)
    .key("inputAdjustments")
    .raw(origin.adjustments.empty() ? std::string_view("[]") : origin.adjustments)
    .key("billing")
    .begin_object()
    .field("usdHeld", usd_text(usd_micros(v.credits_held, settings)))
    .field("usdCharged", usd_text(usd_micros(v.credits_used, settings)))
    .field("usdRefunded", usd_text(usd_micros(v.credits_refunded, settings)));
  if (details) w.field("finalized", is_terminal(v.status));
  w.end_object().key("downloadableOutputUrls").begin_array();
  if (v.status == job_status::succeeded && v.outputs_expired_at_ms == 0)  // files kept
    for (const auto& o : v.outputs)
      if (o.role == "primary")
        w.value(urls.base + signed_file_path(o.file, urls.signing_key, urls.now_ms));
  w.end_array()
    .field("progress", v.progress)
    .field("livemode", v.spec.livemode)
    .field("createdAt", format_time_ms(v.created_at_ms));
  if (v.completed_at_ms) w.field("completedAt", format_time_ms(v.completed_at_ms));
  if (details) {
    w.key("device");
    if (v.device.empty()) w.null();
    else w.value(v.device);
    w.field("attempts", v.attempts).key("error");
    if (!v.error) w.null();
    else
      w.begin_object().field("code", v.error->code).field("message", v.error->message).end_object();
    w.key("outputs").begin_array();
    for (const auto& o : v.outputs) {
      w.begin_object().key("url");
      if (v.outputs_expired_at_ms != 0) w.null();  // deleted at the end of their retention
      else w.value(urls.base + signed_file_path(o.file, urls.signing_key, urls.now_ms));
      w.field("contentType", o.content_type)
        .field("bytes", o.bytes)
        .field("role", o.role)
        .end_object();
    }
    w.end_array().field("traceId", v.trace_id).field("detailsIncluded", true);
  }
  return w.end_object().take();
}

std::string render_callback(const job& value, const url_context& urls) {
  dialect_settings settings;
  if (value.spec.origin.credit_usd_micros > 0)
    settings.credit_usd_micros = value.spec.origin.credit_usd_micros;
  auto body = render_job(value, urls, settings, true);
  body.pop_back();  // the view's closing brace
  return body + R"(,"callbackType":"media_job_terminal"})";
}

std::string render_error(std::string_view code, std::string_view message, std::string_view field) {
  json_writer w;
  w.begin_object()
    .field("ok", false)
    .field("error", message)
    .key("details")
    .begin_object()
    .field("code", code);
  if (!field.empty()) w.field("field", field);
  return w.end_object().end_object().take();
}

std::string render_error(std::string_view core_body) {
  dom::parser parser;
  dom::element error;
  if (parser.parse(core_body.data(), core_body.size())["error"].get(error))
    return render_error("server_error", "the request failed");
  std::string_view code = "server_error", message = "the request failed", field;
  dom::element part;
  if (!error["code"].get(part)) code = text_or(part, code);
  if (!error["message"].get(part)) message = text_or(part, message);
  if (!error["details"]["field"].get(part)) field = text_or(part);
  return render_error(code, message, field);
}

}  // namespace kiln::killa
