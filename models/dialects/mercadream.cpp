// MercaDream translations; see the header.
#include "models/dialects/mercadream.hpp"

#include "models/crypto.hpp"
#include "models/json_read.hpp"
#include "models/json_writer.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <utility>

namespace kiln::mercadream {
namespace dom = simdjson::dom;

namespace {

caf::error refuse(std::string field, std::string message) {
  return make_error(error_code::invalid_request, std::move(message), std::move(field));
}

constexpr std::string_view voices[] = {"neural-narrator-m", "neural-narrator-f", "warm-storyteller",
                                       "crisp-announcer",   "calm-guide",        "bright-host"};
constexpr std::pair<std::string_view, std::uint32_t> resolutions[] = {
  {"720p", 1280u * 720u}, {"1080p", 1920u * 1080u}, {"4k", 3840u * 2160u}, {"8k", 7680u * 4320u}};
constexpr std::string_view formats[] = {"mp3", "wav", "flac"};

std::size_t chars(std::string_view text) {
  std::size_t n = 0;
  for (unsigned char c : text) n += (c & 0xC0) != 0x80;
  return n;
}

/// The body as an object, or invalid_json.
caf::error parse_object(dom::parser& parser, std::string_view body, dom::object& root) {
  if (parser.parse(body.data(), body.size()).get_object().get(root))
    return make_error(error_code::invalid_json, "the body is not a JSON object", "body");
  return {};
}

caf::error text_field(dom::element value, std::string_view field, std::size_t max,
                      std::string& out) {
  std::string_view text;
  if (value.get_string().get(text) || text.empty() || chars(text) > max)
    return refuse(std::string(field), std::string(field) + " must be a string of 1 to " +
                                        std::to_string(max) + " characters");
  out = std::string(text);
  return {};
}

caf::error format_field(dom::element value, std::string& out) {
  std::string_view text;
  if (value.get_string().get(text) ||
      std::find(std::begin(formats), std::end(formats), text) == std::end(formats))
    return refuse("format", "format must be \"mp3\", \"wav\" or \"flac\"");
  out = std::string(text);
  return {};
}

caf::error voice_field(dom::element value, std::string& out) {
  std::string_view text;
  if (value.get_string().get(text) || !is_voice(text))
    return refuse("voice_id",
                  "voice_id must name one of the voices: neural-narrator-m, "
                  "neural-narrator-f, warm-storyteller, crisp-announcer, calm-guide, "
                  "bright-host");
  out = std::string(text);
  return {};
}

caf::error unknown(std::string_view key) {
  return refuse(std::string(key), "unknown field " + std::string(key));
}

/// The core body of a job: {type, model, prompt, params?, options, webhook_url?}.
std::string core_job(std::string_view type, std::string_view model, const std::string& prompt,
                     std::uint32_t duration_s, const std::string& options,
                     const std::string& webhook) {
  json_writer w;
  w.begin_object().field("type", type).field("model", model).field("prompt", prompt);
  if (duration_s > 0)
    w.key("params").begin_object().field("duration_seconds", duration_s).end_object();
  w.key("options").raw(options);
  if (!webhook.empty()) w.field("webhook_url", webhook);
  return w.end_object().take();
}

std::string input_of(std::string_view body) {
  dom::parser parser;
  dom::element root;
  if (parser.parse(body.data(), body.size()).get(root)) return "{}";
  return simdjson::minify(root);
}

const job_output* output_of(const job& v, std::string_view role) {
  for (const auto& o : v.outputs)
    if (o.role == role) return &o;
  return nullptr;
}

std::string url_of(const job_output* o, const url_context& urls) {
  return o ? urls.base + signed_file_path(o->file, urls.signing_key, urls.now_ms) : std::string();
}

/// The job's kind as MercaDream names its endpoints.
std::string_view kind_of(const job& v) {
  if (v.spec.model == speech_model) return "speech";
  if (v.spec.model == music_model) return "music";
  return "video";
}

std::string option_text(const job& v, std::string_view name) {
  dom::parser parser;
  dom::element options;
  if (v.spec.options.empty() || parser.parse(v.spec.options).get(options)) return {};
  return std::string(json_read::text_or(options[name]));
}

std::int64_t duration_of(const job& v) {
  if (const auto* o = output_of(v, "primary"); o && o->duration_ms > 0)
    return std::lround(static_cast<double>(o->duration_ms) / 1000.0);
  return v.spec.params.duration_seconds;
}

void write_job_fields(json_writer& w, const job& v, const url_context& urls,
                      std::uint32_t estimated_seconds) {
  bool done = v.status == job_status::succeeded && v.outputs_expired_at_ms == 0;
  const auto* primary = done ? output_of(v, "primary") : nullptr;
  const auto* thumbnail = done ? output_of(v, "thumbnail") : nullptr;
  w.field("id", v.id)
    .field("type", kind_of(v))
    .field("status", status_word(v.status))
    .field("progress", done ? 100u : v.progress)
    .key("download_url");
  if (primary) w.value(url_of(primary, urls));
  else w.null();
  w.key("thumbnail_url");
  if (thumbnail) w.value(url_of(thumbnail, urls));
  else w.null();
  w.field("duration", duration_of(v)).key("resolution");
  if (auto r = option_text(v, "resolution"); !r.empty()) w.value(r);
  else w.null();
  w.key("file_size_bytes");
  if (primary) w.value(primary->bytes);
  else w.null();
  w.field("compute_units", v.spec.cost)
    .field("livemode", v.spec.livemode)
    .field("created_at", format_time_ms(v.created_at_ms))
    .field("estimated_completion",
           format_time_ms(estimated_completion_ms(v, estimated_seconds, urls.now_ms)))
    .key("completed_at");
  if (v.completed_at_ms) w.value(format_time_ms(v.completed_at_ms));
  else w.null();
  if (v.outputs_expired_at_ms != 0)  // its files were deleted at the end of their retention
    w.field("expired_at", format_time_ms(v.outputs_expired_at_ms));
  if (v.error)
    w.key("error")
      .begin_object()
      .field("code", v.error->code)
      .field("message", v.error->message)
      .end_object();
}

}  // namespace

bool is_voice(std::string_view voice_id) {
  return std::find(std::begin(voices), std::end(voices), voice_id) != std::end(voices);
}

std::uint32_t pixels_of(std::string_view resolution) {
  for (const auto& [name, pixels] : resolutions)
    if (name == resolution) return pixels;
  return 0;
}

caf::expected<translated> translate_generate(std::string_view body) {
  thread_local dom::parser parser;
  dom::object root;
  if (auto e = parse_object(parser, body, root)) return e;
  std::string prompt, resolution = "4k", style = "cinematic", voice, webhook;
  std::int64_t duration = 30, fps = 24;
  for (auto [key, value] : root) {
    std::string_view k = key;
    if (k == "prompt") {
      if (auto e = text_field(value, k, 1000, prompt)) return e;
    } else if (k == "resolution") {
      std::string_view text;
      if (value.get_string().get(text) || pixels_of(text) == 0)
        return refuse("resolution", "resolution must be \"720p\", \"1080p\", \"4k\" or \"8k\"");
      resolution = std::string(text);
    } else if (k == "duration") {
      if (value.get_int64().get(duration) ||
          (duration != 15 && duration != 30 && duration != 60 && duration != 120))
        return refuse("duration", "duration must be 15, 30, 60 or 120 seconds");
    } else if (k == "style") {
      if (auto e = text_field(value, k, 64, style)) return e;
    } else if (k == "fps") {
      if (value.get_int64().get(fps) || (fps != 24 && fps != 30 && fps != 60))
        return refuse("fps", "fps must be 24, 30 or 60");
    } else if (k == "voice_id") {
      if (auto e = voice_field(value, voice)) return e;
    } else if (k == "webhook_url") {
      if (auto e = text_field(value, k, 2048, webhook)) return e;
    } else {
      return unknown(k);
    }
  }
  if (prompt.empty()) return refuse("prompt", "prompt is required");
  json_writer options;
  options.begin_object()
    .field("resolution", resolution)
    .field("style", style)
    .field("fps", fps)
    .field("voice_id", voice);
  return translated{core_job("video", video_model, prompt, static_cast<std::uint32_t>(duration),
                             options.end_object().take(), webhook),
                    input_of(body), resolution};
}

caf::expected<translated> translate_speech(std::string_view body) {
  thread_local dom::parser parser;
  dom::object root;
  if (auto e = parse_object(parser, body, root)) return e;
  std::string text, voice = "neural-narrator-m", format = "mp3", webhook;
  double speed = 1.0;
  for (auto [key, value] : root) {
    std::string_view k = key;
    if (k == "text") {
      if (auto e = text_field(value, k, 5000, text)) return e;
    } else if (k == "voice_id") {
      if (auto e = voice_field(value, voice)) return e;
    } else if (k == "format") {
      if (auto e = format_field(value, format)) return e;
    } else if (k == "speed") {
      if (value.get_double().get(speed) || speed < 0.5 || speed > 2.0)
        return refuse("speed", "speed must be a number from 0.5 to 2.0");
    } else if (k == "webhook_url") {
      if (auto e = text_field(value, k, 2048, webhook)) return e;
    } else {
      return unknown(k);
    }
  }
  if (text.empty()) return refuse("text", "text is required");
  json_writer options;
  options.begin_object()
    .field("voice_id", voice)
    .field("speed_percent", static_cast<std::int64_t>(std::lround(speed * 100)));
  return translated{core_job("audio", speech_model, text, 0, options.end_object().take(), webhook),
                    input_of(body),
                    {}};
}

caf::expected<translated> translate_music(std::string_view body) {
  thread_local dom::parser parser;
  dom::object root;
  if (auto e = parse_object(parser, body, root)) return e;
  std::string prompt, format = "mp3", webhook;
  std::int64_t duration = 60, bpm = 0;
  for (auto [key, value] : root) {
    std::string_view k = key;
    if (k == "prompt") {
      if (auto e = text_field(value, k, 1000, prompt)) return e;
    } else if (k == "duration") {
      if (value.get_int64().get(duration) || duration < 15 || duration > 300)
        return refuse("duration", "duration must be 15 to 300 seconds");
    } else if (k == "format") {
      if (auto e = format_field(value, format)) return e;
    } else if (k == "bpm") {
      if (value.get_int64().get(bpm) || bpm < 60 || bpm > 200)
        return refuse("bpm", "bpm must be 60 to 200; leave it out to let the model choose");
    } else if (k == "webhook_url") {
      if (auto e = text_field(value, k, 2048, webhook)) return e;
    } else {
      return unknown(k);
    }
  }
  if (prompt.empty()) return refuse("prompt", "prompt is required");
  json_writer options;
  options.begin_object().field("bpm", bpm);
  return translated{core_job("audio", music_model, prompt, static_cast<std::uint32_t>(duration),
                             options.end_object().take(), webhook),
                    input_of(body),
                    {}};
}

std::string_view status_word(job_status status) {
  return status == job_status::succeeded ? "completed" : status_name(status);
}

std::int64_t estimated_completion_ms(const job& v, std::uint32_t estimated_seconds,
                                     std::int64_t now_ms) {
  const std::int64_t each = std::int64_t{estimated_seconds} * 1000;
  if (is_terminal(v.status)) return v.completed_at_ms;
  if (v.status == job_status::processing) return std::max(v.started_at_ms + each, now_ms);
  std::int64_t ahead = v.queue_position ? static_cast<std::int64_t>(*v.queue_position) - 1 : 0;
  return std::max(v.created_at_ms, now_ms) + each * (ahead + 1);
}

std::string render_created(const job& v, std::uint32_t estimated_seconds, std::int64_t now_ms) {
  json_writer w;
  w.begin_object()
    .field("id", v.id)
    .field("type", kind_of(v))
    .field("status", status_word(v.status))
    .field("prompt", v.spec.prompt)
    .key("resolution");
  if (auto r = option_text(v, "resolution"); !r.empty()) w.value(r);
  else w.null();
  w.field("duration", v.spec.params.duration_seconds)
    .field("compute_units", v.spec.cost)
    .field("livemode", v.spec.livemode)
    .field("created_at", format_time_ms(v.created_at_ms))
    .field("estimated_completion",
           format_time_ms(estimated_completion_ms(v, estimated_seconds, now_ms)));
  return w.end_object().take();
}

std::string render_job(const job& v, const url_context& urls, std::uint32_t estimated_seconds) {
  json_writer w;
  w.begin_object();
  write_job_fields(w, v, urls, estimated_seconds);
  return w.end_object().take();
}

namespace {
void write_page_end(json_writer& w, const job_page& page) {
  w.end_array().field("has_more", page.has_more).key("next_before");
  if (page.has_more && !page.data.empty()) w.value(format_time_ms(page.data.back().created_at_ms));
  else w.null();
}
}  // namespace

std::string render_page(const job_page& page, const url_context& urls) {
  json_writer w;
  w.begin_object().key("jobs").begin_array();
  for (const auto& j : page.data) {
    w.begin_object();
    write_job_fields(w, j, urls, 0);
    w.end_object();
  }
  write_page_end(w, page);
  return w.end_object().take();
}

std::string render_vault(const job_page& page, const url_context& urls,
                         std::uint32_t retention_days) {
  json_writer w;
  w.begin_object().key("assets").begin_array();
  for (const auto& j : page.data)
    for (const auto& o : j.outputs) {
      bool expired = j.outputs_expired_at_ms != 0;
      w.begin_object()
        .field("job_id", j.id)
        .field("type", kind_of(j))
        .field("role", o.role)
        .key("download_url");
      if (expired) w.null();
      else w.value(url_of(&o, urls));
      w.field("content_type", o.content_type)
        .field("bytes", o.bytes)
        .field("created_at", format_time_ms(j.completed_at_ms))
        .field("expired", expired)
        .key("expires_at");
      if (expired) w.value(format_time_ms(j.outputs_expired_at_ms));
      else if (retention_days == 0) w.null();  // kept forever
      else w.value(format_time_ms(j.completed_at_ms + std::int64_t{retention_days} * 86'400'000));
      w.end_object();
    }
  write_page_end(w, page);
  return w.end_object().take();
}

std::string render_webhook(const delivery& d, const job& v, const url_context& urls) {
  std::string_view event = d.event == "job.succeeded" ? std::string_view("job.completed") : d.event;
  bool completed = event == "job.completed";
  bool progress = event == "job.progress";
  std::string_view status =
    progress ? std::string_view("processing") : event.substr(event.find('.') + 1);
  json_writer w;
  w.begin_object()
    .field("event", event)
    .field("job_id", v.id)
    .field("status", status)
    .key("download_url");
  const auto* primary = completed ? output_of(v, "primary") : nullptr;
  if (primary) w.value(url_of(primary, urls));
  else w.null();
  if (progress) w.field("progress", d.progress);
  w.field("livemode", v.spec.livemode).field("timestamp", format_time_ms(d.created_at_ms));
  return w.end_object().take();
}

std::string signed_webhook(std::string_view body, std::string_view key_bytes) {
  std::string out(body.substr(0, body.rfind('}')));
  out += R"(,"signature":"sha256=)" + crypto::hex(crypto::hmac_sha256(key_bytes, body)) + "\"}";
  return out;
}

std::string render_error(std::string_view code, std::string_view message, std::string_view param) {
  json_writer w;
  w.begin_object().key("error").begin_object().field("code", code).field("message", message);
  if (!param.empty()) w.field("param", param);
  w.end_object().end_object();
  return w.take();
}

std::string render_error(std::string_view core_body) {
  dom::parser parser;
  dom::element error;
  std::string_view code = "server_error", message = "the request failed", field;
  if (!parser.parse(core_body.data(), core_body.size())["error"].get(error)) {
    code = json_read::text_or(error["code"], code);
    message = json_read::text_or(error["message"], message);
    field = json_read::text_or(error["details"]["field"]);
  }
  return render_error(code, message, field);
}

}  // namespace kiln::mercadream
