// agent.media translations; see the header.
#include "models/dialects/agent_media.hpp"

#include "config/limits.hpp"
#include "models/json_writer.hpp"

#include <simdjson.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <span>

namespace kiln::agent_media {
namespace dom = simdjson::dom;

namespace {

/// A refusal: agent.media's code travels as the error's field (the routes render it).
caf::error refuse(std::string code, std::string message) {
  return make_error(error_code::invalid_request, std::move(message), std::move(code));
}

constexpr std::string_view styles[] = {
  "hormozi", "minimal",   "bold",   "karaoke", "clean",    "tiktok", "neon",     "fire",     "glow",
  "pop",     "aesthetic", "impact", "pastel",  "electric", "boxed",  "gradient", "spotlight"};
constexpr std::string_view tones[] = {"energetic", "calm", "confident", "dramatic"};
constexpr std::string_view musics[] = {"chill", "energetic", "corporate", "dramatic", "upbeat"};
constexpr std::string_view ratios[] = {"9:16", "16:9", "1:1"};
constexpr std::string_view templates[] = {"monologue",        "testimonial", "product-review",
                                          "problem-solution", "saas-review", "before-after",
                                          "listicle",         "product-demo"};
constexpr std::string_view broll_models[] = {"kling3", "hailuo2", "wan21"};
constexpr std::string_view pip_positions[] = {"bottom-center", "bottom-left", "bottom-right"};
constexpr std::string_view pip_sizes[] = {"small", "medium", "large"};
constexpr std::string_view pip_animations[] = {"slide-up", "slide-left", "slide-right", "fade",
                                               "scale"};
constexpr std::string_view pip_frames[] = {"none", "rounded", "shadow"};
constexpr std::string_view scene_types[] = {"talking_head", "broll"};

/// The pacing rule: 2.5 words a second; the most words each bucket takes.
struct bucket {
  std::uint32_t seconds;
  std::uint32_t max_words;
};
constexpr std::array<bucket, 3> buckets{{{5, 12}, {10, 25}, {15, 37}}};

bool one_of(std::span<const std::string_view> list, std::string_view value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

std::size_t chars(std::string_view text) {
  std::size_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}

std::uint32_t words(std::string_view text) {
  std::uint32_t count = 0;
  bool in_word = false;
  for (unsigned char c : text) {
    bool space = c == ' ' || c == '\n' || c == '\t' || c == '\r';
    if (!space && !in_word) ++count;
    in_word = !space;
  }
  return count;
}

/// A string field that must be one of `list`; the code names the field.
caf::error check_enum(dom::element value, std::string_view field,
                      std::span<const std::string_view> list, std::string& out) {
  std::string_view text;
  if (value.get_string().get(text) || !one_of(list, text)) {
    std::string allowed;
    for (auto v : list) allowed += (allowed.empty() ? "" : ", ") + std::string(v);
    return refuse("invalid_" + std::string(field),
                  std::string(field) + " must be one of: " + allowed);
  }
  out = std::string(text);
  return {};
}

caf::error check_text(dom::element value, std::string_view field, std::size_t max,
                      std::string& out) {
  std::string_view text;
  if (value.get_string().get(text) || chars(text) > max)
    return refuse(
      "invalid_" + std::string(field),
      std::string(field) + " must be a string of at most " + std::to_string(max) + " characters");
  out = std::string(text);
  return {};
}

/// An actor_slug that names no active actor, with the close slugs in the message.
caf::error refuse_actor(const actor_catalog& actors, std::string_view slug) {
  std::string message = "no actor has the slug '" + std::string(slug) + "'";
  auto close = actors.suggestions(slug);
  for (std::size_t i = 0; i < close.size(); ++i)
    message += (i == 0 ? "; did you mean " : ", ") + close[i];
  return refuse("actor_not_found", message + (close.empty() ? "" : "?") +
                                     " Browse the actors with GET /api/v1/actors.");
}

}  // namespace

caf::expected<translated_create> translate_create(std::string_view body,
                                                  const actor_catalog& actors) {
  thread_local dom::parser parser;
  dom::object root;
  if (parser.parse(body.data(), body.size()).get_object().get(root))
    return make_error(error_code::invalid_json, "Request body is not valid JSON", "invalid_json");
  translated_create out;
  std::string script, prompt, text;
  json_writer options;
  options.begin_object();
  std::int64_t target = 0;
  std::string webhook;
  for (auto [key, value] : root) {
    std::string_view k = key;
    if (k == "script") {
      if (auto e = check_text(value, k, 3000, script)) return e;
    } else if (k == "prompt") {
      if (auto e = check_text(value, k, 4000, prompt)) return e;
    } else if (k == "target_duration") {
      if (value.get_int64().get(target) || (target != 5 && target != 10 && target != 15))
        return refuse("invalid_target_duration", "target_duration must be 5, 10, or 15");
    } else if (k == "style" || k == "tone" || k == "music" || k == "aspect_ratio" ||
               k == "template" || k == "broll_model") {
      using list_t = std::span<const std::string_view>;
      list_t list = k == "style"          ? list_t(styles)
                    : k == "tone"         ? list_t(tones)
                    : k == "music"        ? list_t(musics)
                    : k == "aspect_ratio" ? list_t(ratios)
                    : k == "template"     ? list_t(templates)
                                          : list_t(broll_models);
      if (auto e = check_enum(value, k, list, text)) return e;
      options.field(k, text);
    } else if (k == "voice_speed") {
      double speed = 0;
      if (value.get_double().get(speed) || speed < 0.7 || speed > 1.5)
        return refuse("invalid_voice_speed", "voice_speed must be a number from 0.7 to 1.5");
      options.field("voice_speed_percent", static_cast<std::int64_t>(std::lround(speed * 100)));
    } else if (k == "cta") {
      if (auto e = check_text(value, k, 100, text))
        return refuse("cta_too_long", "CTA text exceeds 100 characters");
      options.field("cta", text);
    } else if (k == "actor_slug") {
      if (auto e = check_text(value, k, 64, text)) return e;
      const actor* chosen = actors.find(text);
      if (!chosen) return refuse_actor(actors, text);
      if (chosen->status != "active")
        return refuse("actor_not_found", "the actor '" + text + "' is inactive; choose another");
      out.selected_voice = chosen->voice_id;
      options.field(k, text);
    } else if (k == "product_url" || k == "product_image_url" || k == "dub_language") {
      if (auto e = check_text(value, k, 256, text)) return e;
      options.field(k, text);
    } else if (k == "webhook_url") {
      if (auto e = check_text(value, k, 2048, webhook)) return e;
    } else if (k == "allow_broll") {
      bool flag = false;
      if (value.get_bool().get(flag))
        return refuse("invalid_allow_broll", "allow_broll must be true or false");
      options.field("allow_broll", flag);
    } else if (k == "broll_images") {
      dom::array images;
      if (value.get_array().get(images) || images.size() > 10)
        return refuse("invalid_broll_images", "broll_images must be at most 10 image URLs");
      for (dom::element image : images)
        if (!image.is_string())
          return refuse("invalid_broll_images", "broll_images must be image URL strings");
    } else if (k == "composition_mode") {
      std::string_view mode;
      if (value.get_string().get(mode) || mode != "pip")
        return refuse("invalid_composition_mode", "composition_mode must be \"pip\"");
      options.field("composition_mode", mode);
    } else if (k == "pip_options") {
      dom::object pip;
      if (value.get_object().get(pip))
        return refuse("invalid_pip_options", "pip_options must be an object");
      for (auto [name, setting] : pip) {
        std::string_view n = name;
        using list_t = std::span<const std::string_view>;
        list_t list = n == "position"      ? list_t(pip_positions)
                      : n == "size"        ? list_t(pip_sizes)
                      : n == "animation"   ? list_t(pip_animations)
                      : n == "frame_style" ? list_t(pip_frames)
                                           : list_t();
        if (list.empty())
          return refuse("invalid_pip_options", "unknown field pip_options." + std::string(n));
        if (auto e = check_enum(setting, "pip_options." + std::string(n), list, text)) return e;
        options.field("pip_" + std::string(n), text);
      }
    } else if (k == "scenes") {
      dom::array scenes;
      if (value.get_array().get(scenes) || scenes.size() > 30)
        return refuse("invalid_scenes", "scenes must be an array of at most 30 scenes");
      for (dom::element scene : scenes) {
        std::string_view scene_text, type;
        if (scene["text"].get_string().get(scene_text) || scene_text.empty())
          return refuse("invalid_scenes", "every scene needs its narration text");
        if (!scene["type"].get_string().get(type) && !one_of(scene_types, type))
          return refuse("invalid_scenes", "scenes[].type must be talking_head or broll");
      }
    } else {
      return refuse("unknown_field", "unknown field '" + std::string(k) + "'");
    }
  }
  if (script.empty() && prompt.empty())
    return refuse("missing_script", "Either script or prompt is required");
  if (!script.empty() && chars(script) < 50)
    return refuse("script_too_short", "script must be 50 to 3000 characters");

  // The duration bucket: the asked one, raised to fit the script at 2.5 words a second.
  out.word_count = script.empty() ? 0 : words(script);
  if (out.word_count > buckets.back().max_words)
    return refuse("script_too_long",
                  "Scripts over 37 words do not fit 15 seconds at 2.5 words a "
                  "second; shorten the script");
  auto asked = target != 0 ? static_cast<std::uint32_t>(target) : 0u;
  const bucket* chosen = nullptr;
  for (const auto& b : buckets)
    if ((asked == 0 || b.seconds >= asked) && (b.max_words >= out.word_count) && !chosen)
      chosen = &b;
  if (script.empty() && asked == 0) chosen = &buckets[1];  // a prompt's script: 10 s (a choice)
  out.duration = chosen->seconds;
  out.max_words = chosen->max_words;
  if (asked != 0 && chosen->seconds != asked)
    out.pacing_warning = std::to_string(out.word_count) + " words do not fit " +
                         std::to_string(asked) +
                         " s at 2.5 words a second; the duration was "
                         "raised to " +
                         std::to_string(chosen->seconds) + " s";
  out.generated_script = script.empty();
  options.field("generate_script", out.generated_script);
  out.effective_input = simdjson::minify(root);

  json_writer core;
  core.begin_object()
    .field("type", "video")
    .field("model", model_id)
    .field("prompt", script.empty() ? prompt : script)
    .key("params")
    .begin_object()
    .field("duration_seconds", out.duration)
    .end_object()
    .key("options")
    .raw(options.end_object().str());
  if (!webhook.empty()) core.field("webhook_url", webhook);
  out.core_body = core.end_object().take();
  return out;
}

std::string_view status_word(job_status status) {
  return status == job_status::succeeded ? "completed" : status_name(status);
}

caf::expected<std::string> core_list_target(std::string_view limit, std::string_view offset,
                                            std::string_view status, std::string_view sort) {
  auto number = [](std::string_view text, std::uint32_t low, std::uint32_t high,
                   std::uint32_t& out) {
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
    return ec == std::errc{} && end == text.data() + text.size() && out >= low && out <= high;
  };
  std::uint32_t rows = limits::page_limit_default, skip = 0;
  if (!limit.empty() && !number(limit, 1, limits::page_limit_max, rows))
    return refuse("invalid_limit", "limit must be an integer from 1 to 100");
  if (!offset.empty() && !number(offset, 0, limits::page_offset_max, skip))
    return refuse("invalid_offset",
                  "offset must be an integer from 0 to " + std::to_string(limits::page_offset_max));
  std::string target = "/v1/jobs?limit=" + std::to_string(rows) + "&offset=" + std::to_string(skip);
  if (sort.empty() || sort == "newest") target += "&order=desc";
  else if (sort == "oldest") target += "&order=asc";
  else return refuse("invalid_sort", "sort must be newest or oldest");
  if (!status.empty()) {
    // Kiln queues a job as it accepts it: "submitted" jobs are the queued ones.
    constexpr std::pair<std::string_view, std::string_view> words[] = {
      {"submitted", "queued"},    {"queued", "queued"}, {"processing", "processing"},
      {"completed", "succeeded"}, {"failed", "failed"}, {"canceled", "canceled"},
      {"cancelled", "canceled"}};
    auto it = std::find_if(std::begin(words), std::end(words),
                           [&](const auto& w) { return w.first == status; });
    if (it == std::end(words))
      return refuse("invalid_status",
                    "status must be one of: submitted, queued, processing, completed, failed, "
                    "canceled");
    target += "&status=" + std::string(it->second);
  }
  return target;
}

std::string render_video_page(const job_page& page, const url_context& urls) {
  json_writer w;
  w.begin_object().key("jobs").begin_array();
  for (const auto& j : page.data) w.raw(render_video(j, urls));
  w.end_array().field("total", page.total);
  return w.end_object().take();
}

std::string render_created(const job& v, const translated_create& create) {
  json_writer w;
  w.begin_object()
    .field("job_id", v.id)
    .field("status", "submitted")
    .field("estimated_duration", create.duration)
    .field("credits_deducted", v.credits_held)
    .field("word_count", create.word_count)
    .field("words_per_second",
           create.duration ? std::round(create.word_count * 10.0 / create.duration) / 10 : 0.0)
    .field("max_words", create.max_words);
  if (!create.pacing_warning.empty()) w.field("pacing_warning", create.pacing_warning);
  if (!create.selected_voice.empty())
    w.field("selected_voice", create.selected_voice).field("voice_auto_detected", false);
  return w.end_object().take();
}

std::string render_video(const job& v, const url_context& urls) {
  json_writer w;
  w.begin_object()
    .field("id", v.id)
    .field("model_slug", v.spec.model)
    // A job made through another API of the account lists with its type as the operation.
    .field("operation", v.spec.origin.frontend == "agent_media" ? std::string("ugc_video")
                                                                : v.spec.type + "_generation")
    .field("status", status_word(v.status))
    .key("output_url");
  const job_output* video = nullptr;
  const job_output* thumbnail = nullptr;
  for (const auto& o : v.outputs) {
    if (o.role == "primary" && !video) video = &o;
    if (o.role == "thumbnail" && !thumbnail) thumbnail = &o;
  }
  bool kept = v.status == job_status::succeeded && v.outputs_expired_at_ms == 0;
  if (kept && video)
    w.value(urls.base + signed_file_path(video->file, urls.signing_key, urls.now_ms));
  else w.null();
  w.key("thumbnail_url");
  if (kept && thumbnail)
    w.value(urls.base + signed_file_path(thumbnail->file, urls.signing_key, urls.now_ms));
  else w.null();
  w.field("credit_cost", v.credits_held)
    .field("progress", v.progress)
    .field("livemode", v.spec.livemode)
    .field("created_at", format_time_ms(v.created_at_ms))
    .key("completed_at");
  if (v.completed_at_ms) w.value(format_time_ms(v.completed_at_ms));
  else w.null();
  if (v.error)
    w.key("error")
      .begin_object()
      .field("code", v.error->code)
      .field("message", v.error->message)
      .end_object();
  return w.end_object().take();
}

std::string render_webhook(const job& v, const url_context& urls) {
  std::string_view event = v.status == job_status::succeeded ? "video.completed"
                           : v.status == job_status::failed  ? "video.failed"
                                                             : "video.canceled";
  json_writer w;
  w.begin_object().field("event", event).key("job").raw(render_video(v, urls));
  return w.end_object().take();
}

std::string render_error(std::string_view code, std::string_view message, std::string_view type) {
  json_writer w;
  w.begin_object()
    .key("error")
    .begin_object()
    .field("code", code)
    .field("message", message)
    .field("type", type)
    .end_object()
    .end_object();
  return w.take();
}

std::string render_error(std::string_view core_body) {
  dom::parser parser;
  dom::element error, part;
  std::string_view code = "server_error", message = "the request failed";
  if (!parser.parse(core_body.data(), core_body.size())["error"].get(error)) {
    if (!error["code"].get(part) && part.is_string()) code = part.get_string().value_unsafe();
    if (!error["message"].get(part) && part.is_string()) message = part.get_string().value_unsafe();
  }
  // The core's codes in agent.media's words, with its error types.
  std::string_view type = "server_error";
  std::string shown(code);
  if (code == "invalid_request" || code == "invalid_json" || code == "idempotency_key_reused" ||
      code == "cannot_cancel" || code == "cannot_delete") {
    type = "validation_error";
  } else if (code == "unauthorized") {
    type = "authentication_error";
    shown = message.starts_with("send your API key") ? "missing_api_key" : "invalid_api_key";
  } else if (code == "plan_required" || code == "plan_limit" || code == "forbidden") {
    type = "authentication_error";
  } else if (code == "not_found") {
    type = "not_found";
    shown = "job_not_found";
  } else if (code == "insufficient_credits") {
    type = "insufficient_credits";
  } else if (code == "rate_limited") {
    type = "rate_limit_error";
  } else if (code == "unavailable") {
    shown = "edge_function_unreachable";
  }
  return render_error(shown, message, type);
}

}  // namespace kiln::agent_media
