// Rendering of jobs, accounts, keys and devices; signing and checking file URLs.
#include "http/render.hpp"

#include "actors/protocol.hpp"
#include "config/settings.hpp"
#include "config/limits.hpp"
#include "models/crypto.hpp"
#include "models/json_writer.hpp"

#include <charconv>

namespace kiln::http {
namespace {

void time_or_null(json_writer& w, std::string_view name, std::int64_t ms) {
  w.key(name);
  if (ms == 0) w.null();
  else w.value(format_time_ms(ms));
}

void write_job(json_writer& w, const job& v, const url_context& urls) {
  w.begin_object().field("id", v.id).field("object", "job").field("status", status_name(v.status))
    .field("type", v.spec.type).field("model", v.spec.model).field("prompt", v.spec.prompt)
    .field("n", v.spec.n);
  w.key("params").begin_object();
  if (v.spec.type == "video") w.field("duration_seconds", v.spec.params.duration_seconds);
  else w.field("width", v.spec.params.width).field("height", v.spec.params.height);
  w.field("seed", v.spec.params.seed).end_object();
  w.key("metadata").begin_object();
  for (const auto& [key, value] : v.spec.metadata) w.field(key, value);
  w.end_object();
  w.key("webhook_url");
  if (v.spec.webhook_url.empty()) w.null();
  else w.value(v.spec.webhook_url);
  w.field("credits_held", v.credits_held).field("credits_used", v.credits_used)
    .field("credits_refunded", v.credits_refunded).field("progress", v.progress);
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
    for (const auto& o : v.outputs)
      w.begin_object().field("url", urls.base + signed_file_path(o.file, urls.signing_key, urls.now_ms))
        .field("content_type", o.content_type).field("bytes", o.bytes).end_object();
    w.end_array();
  }
  w.key("error");
  if (!v.error) w.null();
  else w.begin_object().field("code", v.error->code).field("message", v.error->message).end_object();
  w.field("trace_id", v.trace_id);
  time_or_null(w, "created_at", v.created_at_ms);
  time_or_null(w, "started_at", v.started_at_ms);
  time_or_null(w, "completed_at", v.completed_at_ms);
  time_or_null(w, "canceled_at", v.canceled_at_ms);
  w.end_object();
}

void write_balance(json_writer& w, const balance& b) {
  w.begin_object().field("object", "balance").field("available", b.available)
    .field("held", b.held).field("used", b.used).field("granted", b.granted).end_object();
}

void write_account_fields(json_writer& w, const account& v) {
  w.field("id", v.id).field("object", "account").field("name", v.name).field("plan", v.plan);
  w.key("balance");
  write_balance(w, v.balance);
  w.field("created_at", format_time_ms(v.created_at_ms));
}

void write_account(json_writer& w, const account& v) {
  w.begin_object();
  write_account_fields(w, v);
  w.end_object();
}

void write_entry(json_writer& w, const ledger_entry& e) {
  w.begin_object().field("id", e.id).field("object", "ledger_entry")
    .field("at", format_time_ms(e.at_ms)).field("kind", ledger_kind_name(e.kind))
    .field("amount", e.amount).key("job_id");
  if (e.job_id.empty()) w.null();
  else w.value(e.job_id);
  if (!e.model.empty()) w.field("model", e.model);
  if (!e.reason.empty()) w.field("reason", e.reason);
  w.field("available_after", e.available_after).end_object();
}

void write_usage_rows(json_writer& w, std::string_view name, std::string_view key_name,
                      const std::vector<usage_report::row>& rows) {
  w.key(name).begin_array();
  for (const auto& row : rows)
    w.begin_object().field(key_name, row.key).field("credits", row.credits)
      .field("jobs", row.jobs).end_object();
  w.end_array();
}

void write_key(json_writer& w, const api_key& v, const std::string* plain) {
  w.begin_object().field("id", v.id).field("object", "api_key").field("name", v.name)
    .field("prefix", v.prefix).field("created_at", format_time_ms(v.created_at_ms));
  time_or_null(w, "last_used_at", v.last_used_at_ms);
  if (plain) w.field("key", *plain);
  w.end_object();
}

}  // namespace

std::string render_job(const job& value, const url_context& urls) {
  json_writer w;
  write_job(w, value, urls);
  return w.take();
}

std::string render_job_events(const std::vector<job_event>& events) {
  json_writer w;
  w.begin_object().field("object", "list").key("data").begin_array();
  for (const auto& e : events)
    w.begin_object().field("at", format_time_ms(e.at_ms)).field("type", e.type)
      .field("trace_id", e.trace_id).key("details").raw(e.details_json).end_object();
  w.end_array().end_object();
  return w.take();
}

std::string render_webhook_event(const delivery& d, const job& value, const url_context& urls) {
  json_writer w;
  w.begin_object().field("id", d.event_id).field("event", d.event)
    .field("created_at", format_time_ms(d.created_at_ms)).key("job");
  write_job(w, value, urls);
  w.end_object();
  return w.take();
}

namespace {

void write_delivery_head(json_writer& w, const delivery& d) {
  w.field("delivery_id", d.id).field("event_id", d.event_id).field("event", d.event)
    .field("url", d.url).field("delivery_status", delivery_status_name(d.status));
}

}  // namespace

std::string render_deliveries(const std::vector<delivery>& deliveries) {
  json_writer w;
  w.begin_object().field("object", "list").key("data").begin_array();
  for (const auto& d : deliveries)
    for (const auto& a : d.attempts) {
      w.begin_object().field("object", "webhook_attempt");
      write_delivery_head(w, d);
      w.field("attempt", a.attempt).field("at", format_time_ms(a.at_ms));
      if (a.status_code != 0) w.field("status_code", static_cast<std::int64_t>(a.status_code));
      else w.field("error", a.error);
      w.field("duration_ms", a.duration_ms).key("next_retry_at");
      if (a.next_retry_at_ms != 0) w.value(format_time_ms(a.next_retry_at_ms));
      else w.null();
      w.end_object();
    }
  w.end_array().key("pending").begin_array();
  for (const auto& d : deliveries) {
    if (d.status != delivery_status::pending) continue;
    w.begin_object().field("object", "webhook_delivery");
    write_delivery_head(w, d);
    w.field("attempts", static_cast<std::uint64_t>(d.attempts.size()))
      .field("next_attempt_at", format_time_ms(d.next_attempt_at_ms)).end_object();
  }
  w.end_array().end_object();
  return w.take();
}

std::string render_delivery(const delivery& d) {
  json_writer w;
  w.begin_object().field("object", "webhook_delivery");
  write_delivery_head(w, d);
  w.field("attempts", static_cast<std::uint64_t>(d.attempts.size()))
    .field("next_attempt_at", format_time_ms(d.next_attempt_at_ms)).end_object();
  return w.take();
}

std::string render_webhook_secret(const webhook_secret_view& view) {
  json_writer w;
  w.begin_object().field("object", "webhook_secret").field("secret", view.secret);
  w.key("previous_secret_expires_at");
  if (!view.previous_secret.empty()) w.value(format_time_ms(view.previous_until_ms));
  else w.null();
  w.end_object();
  return w.take();
}

std::string render_job_page(const job_page& page, const url_context& urls) {
  json_writer w;
  w.begin_object().field("object", "list").key("data").begin_array();
  for (const auto& j : page.data) write_job(w, j, urls);
  w.end_array().field("has_more", page.has_more).key("next_cursor");
  if (page.has_more) w.value(page.next_cursor);
  else w.null();
  w.end_object();
  return w.take();
}

std::string render_account(const account& value) {
  json_writer w;
  write_account(w, value);
  return w.take();
}

std::string render_account_created(const account_created& value) {
  json_writer w;
  w.begin_object().key("account");
  write_account(w, value.account);
  w.field("api_key", value.api_key_plain).field("webhook_secret", value.account.webhook_secret)
    .end_object();
  return w.take();
}

std::string render_key(const api_key& value, const std::string* plain) {
  json_writer w;
  write_key(w, value, plain);
  return w.take();
}

std::string render_keys(const std::vector<api_key>& keys) {
  json_writer w;
  w.begin_object().field("object", "list").key("data").begin_array();
  for (const auto& k : keys) write_key(w, k, nullptr);
  w.end_array().end_object();
  return w.take();
}

std::string render_estimate(const estimate& value) {
  json_writer w;
  w.begin_object().field("credits", value.credits).field("available", value.available)
    .field("sufficient", value.sufficient).end_object();
  return w.take();
}

std::string render_devices(const devices_report& report) {
  json_writer w;
  w.begin_object().field("object", "list").field("queued", report.queued).key("data").begin_array();
  for (const auto& d : report.devices) {
    w.begin_object().field("id", d.id).field("executor", d.executor).field("status", d.status)
      .field("slots", d.slots).field("busy", d.busy);
    w.key("models").begin_array();
    for (const auto& m : d.models) w.value(m);
    w.end_array().key("running").begin_array();
    for (const auto& r : d.running) w.value(r);
    w.end_array().field("completed", d.completed).field("failed", d.failed)
      .field("crashes", d.crashes).field("consecutive_failures", d.consecutive_failures);
    time_or_null(w, "probe_at", d.status == "down" ? d.down_until_ms : 0);
    if (!d.gpu_uuid.empty())
      w.key("gpu").begin_object().field("name", d.gpu_name).field("uuid", d.gpu_uuid)
        .field("memory_total_bytes", d.memory_total_bytes)
        .field("memory_used_bytes", d.memory_used_bytes)
        .field("utilization_percent", d.utilization_percent).end_object();
    w.end_object();
  }
  w.end_array().end_object();
  return w.take();
}

std::string render_cancel(const cancel_result& value) {
  json_writer w;
  w.begin_object().field("id", value.job_id).field("object", "job").field("status", "canceled")
    .field("credits_refunded", value.credits_refunded)
    .field("refund_pending", value.refund_pending).end_object();
  return w.take();
}

std::string render_balance(const balance& value) {
  json_writer w;
  write_balance(w, value);
  return w.take();
}

std::string render_ledger_entry(const ledger_entry& value) {
  json_writer w;
  write_entry(w, value);
  return w.take();
}

std::string render_ledger_page(const ledger_page& page) {
  json_writer w;
  w.begin_object().field("object", "list").key("data").begin_array();
  for (const auto& e : page.data) write_entry(w, e);
  w.end_array().field("has_more", page.has_more).key("next_cursor");
  if (page.has_more) w.value(page.next_cursor);
  else w.null();
  w.end_object();
  return w.take();
}

std::string render_account_view(const account& value, const plan_settings* plan,
                                const std::vector<std::string>& models) {
  json_writer w;
  w.begin_object();
  write_account_fields(w, value);
  w.key("limits").begin_object();
  if (plan)
    w.field("requests_per_minute", plan->requests_per_minute)
      .field("max_concurrent_jobs", plan->max_concurrent_jobs);
  w.end_object().key("models").begin_array();
  for (const auto& m : models) w.value(m);
  w.end_array().end_object();
  return w.take();
}

std::string render_usage(const usage_report& report, std::string_view period) {
  json_writer w;
  w.begin_object().field("object", "usage").field("period", period)
    .field("from", format_time_ms(report.from_ms)).field("to", format_time_ms(report.to_ms));
  w.key("total").begin_object().field("credits", report.credits).field("jobs", report.jobs)
    .end_object();
  write_usage_rows(w, "by_model", "model", report.by_model);
  write_usage_rows(w, "by_day", "date", report.by_day);
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
  auto expected = crypto::hex(crypto::hmac_sha256(key, std::string(file) + "\n" + std::string(expires)));
  return crypto::constant_time_equal(expected, signature) && expires_s >= now_ms / 1000;
}

}  // namespace kiln::http
