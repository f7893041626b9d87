// Rendering of accounts, keys, ledgers, deliveries and devices as the contract shows them. Jobs
// are rendered by models/job_json (webhook bodies use the same code).
#include "http/render.hpp"

#include "models/billing_period.hpp"

#include "config/limits.hpp"
#include "config/settings.hpp"
#include "models/job_json.hpp"
#include "models/json_writer.hpp"
#include "protocol/directory.hpp"
#include "protocol/store.hpp"

namespace kiln::http {
namespace {

void write_balance(json_writer& w, const balance& b) {
  w.begin_object()
    .field("object", "balance")
    .field("available", b.available)
    .field("held", b.held)
    .field("used", b.used)
    .field("granted", b.granted)
    .end_object();
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
  w.begin_object()
    .field("id", e.id)
    .field("object", "ledger_entry")
    .field("at", format_time_ms(e.at_ms))
    .field("kind", ledger_kind_name(e.kind))
    .field("amount", e.amount)
    .key("job_id");
  if (e.job_id.empty()) w.null();
  else w.value(e.job_id);
  if (!e.model.empty()) w.field("model", e.model);
  if (!e.reason.empty()) w.field("reason", e.reason);
  w.field("available_after", e.available_after).end_object();
}

void write_usage_rows(json_writer& w, std::string_view name, std::string_view key_name,
                      const std::vector<usage_report::row>& rows) {
  w.key(name).begin_array();
  for (const auto& row : rows) {
    w.begin_object().field(key_name, row.key);
    if (key_name != "operation") w.field("credits", row.credits).field("jobs", row.jobs);
    w.field("jobs_created", row.created);
    if (row.timed > 0) w.field("video_seconds", row.duration_s).field("videos", row.timed);
    w.end_object();
  }
  w.end_array();
}

void write_key(json_writer& w, const api_key& v, const std::string* plain) {
  w.begin_object()
    .field("id", v.id)
    .field("object", "api_key")
    .field("name", v.name)
    .field("prefix", v.prefix)
    .field("mode", key_mode_name(v.mode))
    .field("created_at", format_time_ms(v.created_at_ms));
  time_or_null(w, "last_used_at", v.last_used_at_ms);
  if (plain) w.field("key", *plain);
  w.end_object();
}

}  // namespace

std::string render_job_events(const std::vector<job_event>& events) {
  json_writer w;
  w.begin_object().field("object", "list").key("data").begin_array();
  for (const auto& e : events)
    w.begin_object()
      .field("at", format_time_ms(e.at_ms))
      .field("type", e.type)
      .field("trace_id", e.trace_id)
      .key("details")
      .raw(e.details_json)
      .end_object();
  w.end_array().end_object();
  return w.take();
}

namespace {

void write_delivery_head(json_writer& w, const delivery& d) {
  w.field("delivery_id", d.id)
    .field("event_id", d.event_id)
    .field("event", d.event)
    .field("url", d.url)
    .field("delivery_status", delivery_status_name(d.status));
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
      .field("next_attempt_at", format_time_ms(d.next_attempt_at_ms))
      .end_object();
  }
  w.end_array().end_object();
  return w.take();
}

std::string render_delivery(const delivery& d) {
  json_writer w;
  w.begin_object().field("object", "webhook_delivery");
  write_delivery_head(w, d);
  w.field("attempts", static_cast<std::uint64_t>(d.attempts.size()))
    .field("next_attempt_at", format_time_ms(d.next_attempt_at_ms))
    .end_object();
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

std::string render_account(const account& value) {
  json_writer w;
  write_account(w, value);
  return w.take();
}

std::string render_account_created(const account_created& value) {
  json_writer w;
  w.begin_object().key("account");
  write_account(w, value.account);
  w.field("api_key", value.api_key_plain)
    .field("webhook_secret", value.account.webhook_secret)
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
  w.begin_object()
    .field("credits", value.credits)
    .field("available", value.available)
    .field("sufficient", value.sufficient)
    .end_object();
  return w.take();
}

std::string render_devices(const devices_report& report) {
  json_writer w;
  w.begin_object().field("object", "list").field("queued", report.queued).key("data").begin_array();
  for (const auto& d : report.devices) {
    w.begin_object()
      .field("id", d.id)
      .field("executor", d.executor)
      .field("status", device_status_name(d.status))
      .field("slots", d.slots)
      .field("busy", d.busy);
    w.key("models").begin_array();
    for (const auto& m : d.models) w.value(m);
    w.end_array().key("running").begin_array();
    for (const auto& r : d.running) w.value(r);
    w.end_array()
      .field("completed", d.completed)
      .field("failed", d.failed)
      .field("crashes", d.crashes)
      .field("consecutive_failures", d.consecutive_failures);
    time_or_null(w, "probe_at", d.status == device_status::down ? d.down_until_ms : 0);
    if (!d.gpu_uuid.empty())
      w.key("gpu")
        .begin_object()
        .field("name", d.gpu_name)
        .field("uuid", d.gpu_uuid)
        .field("memory_total_bytes", d.memory_total_bytes)
        .field("memory_used_bytes", d.memory_used_bytes)
        .field("utilization_percent", d.utilization_percent)
        .end_object();
    w.end_object();
  }
  w.end_array().end_object();
  return w.take();
}

std::string render_cancel(const cancel_result& value) {
  json_writer w;
  w.begin_object()
    .field("id", value.job_id)
    .field("object", "job")
    .field("status", "canceled")
    .field("credits_refunded", value.credits_refunded)
    .field("refund_pending", value.refund_pending)
    .end_object();
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
                                const std::vector<std::string>& models, std::int64_t now_ms) {
  json_writer w;
  w.begin_object();
  write_account_fields(w, value);
  // The plan's monthly credits: what is left of them this period, and the rest of `available`
  // (bought or granted) as purchased.
  auto period = period_of(now_ms);
  std::int64_t allowance = plan ? plan->monthly_credits : 0;
  w.key("credits")
    .begin_object()
    .field("monthly_allowance", allowance)
    .field("monthly_remaining", value.balance.monthly)
    .field("purchased", value.balance.available - value.balance.monthly)
    .field("total", value.balance.available)
    .field("period", period.name)
    .field("current_period_end", format_time_ms(period.end_ms))
    .end_object();
  w.key("limits").begin_object();
  if (plan) {
    w.field("requests_per_minute", plan->requests_per_minute)
      .field("max_concurrent_jobs", plan->max_concurrent_jobs)
      .key("max_duration_s");
    if (plan->max_duration_s > 0) w.value(plan->max_duration_s);
    else w.null();
  }
  w.end_object().key("models").begin_array();
  for (const auto& m : models) w.value(m);
  w.end_array().end_object();
  return w.take();
}

std::string render_usage(const usage_report& report, std::string_view period) {
  json_writer w;
  w.begin_object()
    .field("object", "usage")
    .field("period", period)
    .field("from", format_time_ms(report.from_ms))
    .field("to", format_time_ms(report.to_ms));
  w.key("total")
    .begin_object()
    .field("credits", report.credits)
    .field("jobs", report.jobs)
    .end_object();
  w.key("jobs_created")
    .begin_object()
    .field("total", report.created)
    .field("succeeded", report.succeeded)
    .field("failed", report.failed)
    .field("canceled", report.canceled)
    .key("test")
    .begin_object()
    .field("total", report.test.created)
    .field("succeeded", report.test.succeeded)
    .field("failed", report.test.failed)
    .field("canceled", report.test.canceled)
    .end_object()
    .end_object();
  write_usage_rows(w, "by_model", "model", report.by_model);
  write_usage_rows(w, "by_day", "date", report.by_day);
  write_usage_rows(w, "by_operation", "operation", report.by_operation);
  w.end_object();
  return w.take();
}

}  // namespace kiln::http
