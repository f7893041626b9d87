// The job as the contract shows it (GET /v1/jobs/{id}, listings, webhook bodies) and the signed,
// expiring URLs of its output files. Pure: the same job and url_context give the same bytes, so the
// HTTP front end and the webhook deliveries render a job with one piece of code.
#include "models/job_json.hpp"

#include "models/dialects/agent_media.hpp"
#include "models/dialects/killa.hpp"
#include "models/dialects/mercadream.hpp"

#include "config/limits.hpp"
#include "models/crypto.hpp"
#include "models/json_writer.hpp"

#include <charconv>

namespace kiln {
namespace json {

void write_job(json_writer& w, const job& v, const url_context& urls) {
  w.begin_object()
    .field("id", v.id)
    .field("object", "job")
    .field("status", status_name(v.status))
    .field("type", v.spec.type)
    .field("model", v.spec.model)
    .field("prompt", v.spec.prompt)
    .field("n", v.spec.n);
  w.key("params").begin_object();
  if (v.spec.type == "image")
    w.field("width", v.spec.params.width).field("height", v.spec.params.height);
  if (v.spec.params.duration_seconds != 0)
    w.field("duration_seconds", v.spec.params.duration_seconds);
  w.field("seed", v.spec.params.seed).end_object();
  w.key("options").raw(v.spec.options.empty() ? std::string_view("{}") : v.spec.options);
  w.key("metadata").raw(v.spec.metadata.empty() ? std::string_view("{}") : v.spec.metadata);
  if (!v.spec.inputs.empty()) {
    w.key("inputs").begin_array();
    for (const auto& i : v.spec.inputs) {
      w.begin_object()
        .field("role", i.role)
        .field("upload_id", i.upload_id)
        .field("file", i.file)
        .field("content_type", i.content_type)
        .field("bytes", i.bytes);
      if (i.width != 0) w.field("width", i.width).field("height", i.height);
      if (i.duration_us != 0) w.field("duration_seconds", i.duration_us / 1e6);
      w.end_object();
    }
    w.end_array();
  }
  w.key("webhook_url");
  if (v.spec.webhook_url.empty()) w.null();
  else w.value(v.spec.webhook_url);
  w.field("livemode", v.spec.livemode)
    .field("credits_held", v.credits_held)
    .field("credits_used", v.credits_used)
    .field("credits_refunded", v.credits_refunded)
    .field("progress", v.progress);
  if (v.status == job_status::queued && v.queue_position)
    w.field("queue_position", *v.queue_position);
  if (v.attempts > 0) {
    w.key("device");
    if (v.device.empty()) w.null();
    else w.value(v.device);
    w.field("attempts", v.attempts);
  }
  w.key("output");
  if (v.status != job_status::succeeded) w.null();
  else {
    w.begin_array();
    for (const auto& o : v.outputs) {
      // Files deleted by output retention keep their description, without a URL.
      w.begin_object().key("url");
      if (v.outputs_expired_at_ms != 0) w.null();
      else w.value(urls.base + signed_file_path(o.file, urls.signing_key, urls.now_ms));
      if (v.outputs_expired_at_ms != 0) w.field("expired", true);
      w.field("content_type", o.content_type).field("bytes", o.bytes).field("role", o.role);
      if (o.width != 0) w.field("width", o.width).field("height", o.height);
      if (o.duration_ms != 0) w.field("duration_seconds", o.duration_ms / 1000.0);
      w.end_object();
    }
    w.end_array();
  }
  w.key("error");
  if (!v.error) w.null();
  else
    w.begin_object().field("code", v.error->code).field("message", v.error->message).end_object();
  w.field("trace_id", v.trace_id);
  time_or_null(w, "created_at", v.created_at_ms);
  time_or_null(w, "started_at", v.started_at_ms);
  time_or_null(w, "completed_at", v.completed_at_ms);
  time_or_null(w, "canceled_at", v.canceled_at_ms);
  if (v.deleted_at_ms != 0) time_or_null(w, "deleted_at", v.deleted_at_ms);
  if (v.outputs_expired_at_ms != 0) time_or_null(w, "outputs_expired_at", v.outputs_expired_at_ms);
  w.end_object();
}

}  // namespace json

std::string render_job(const job& value, const url_context& urls) {
  json_writer w;
  json::write_job(w, value, urls);
  return w.take();
}

std::string render_job_page(const job_page& page, const url_context& urls) {
  json_writer w;
  w.begin_object().field("object", "list").key("data").begin_array();
  for (const auto& j : page.data) json::write_job(w, j, urls);
  w.end_array().field("has_more", page.has_more).key("next_cursor");
  if (page.has_more) w.value(page.next_cursor);
  else w.null();
  w.field("total", page.total).end_object();
  return w.take();
}

std::string render_webhook_event(const delivery& d, const job& value, const url_context& urls) {
  // A job made through a front end is delivered in its format (docs/frontends.md).
  if (value.spec.origin.webhook_format == "killa") return killa::render_callback(value, urls);
  if (value.spec.origin.webhook_format == "agent_media")
    return agent_media::render_webhook(value, urls);
  if (value.spec.origin.webhook_format == "mercadream")
    return mercadream::render_webhook(d, value, urls);
  json_writer w;
  w.begin_object()
    .field("id", d.event_id)
    .field("event", d.event)
    .field("created_at", format_time_ms(d.created_at_ms))
    .key("job");
  json::write_job(w, value, urls);
  w.end_object();
  return w.take();
}

std::string signed_file_path(std::string_view file, std::string_view key, std::int64_t now_ms) {
  auto expires = std::to_string(now_ms / 1000 + limits::file_url_ttl.count());
  auto signature = crypto::hex(crypto::hmac_sha256(key, std::string(file) + "\n" + expires));
  return "/v1/files/" + std::string(file) + "?expires=" + expires + "&signature=" + signature;
}

bool verify_file_signature(std::string_view file, std::string_view expires,
                           std::string_view signature, std::string_view key, std::int64_t now_ms) {
  std::int64_t expires_s = 0;
  auto parsed = std::from_chars(expires.data(), expires.data() + expires.size(), expires_s);
  if (parsed.ec != std::errc{} || parsed.ptr != expires.data() + expires.size()) return false;
  auto expected =
    crypto::hex(crypto::hmac_sha256(key, std::string(file) + "\n" + std::string(expires)));
  return crypto::constant_time_equal(expected, signature) && expires_s >= now_ms / 1000;
}

}  // namespace kiln
