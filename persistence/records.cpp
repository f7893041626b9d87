// JSON record encoding for accounts, keys, ledger entries, deliveries, events and idempotency
// bindings, decoded with simdjson's DOM parser (jobs: job_record.cpp).
#include "persistence/records.hpp"

#include "persistence/job_listing.hpp"
#include "persistence/output_expiry.hpp"

#include "base/assert.hpp"
#include "models/json_writer.hpp"
#include "persistence/detail/record_json.hpp"

#include <simdjson.h>

#include <charconv>
#include <cstdio>

namespace kiln::records {
namespace {

using detail::integer;
using detail::parse;
using detail::text;
using simdjson::dom::element;

void write_balance(json_writer& w, const balance& b) {
  w.key("balance")
    .begin_object()
    .field("available", b.available)
    .field("held", b.held)
    .field("used", b.used)
    .field("granted", b.granted);
  if (b.monthly != 0) w.field("monthly", b.monthly);
  w.end_object();
}

}  // namespace

std::string encode_record(const account& v) {
  json_writer w;
  w.begin_object()
    .field("id", v.id)
    .field("name", v.name)
    .field("plan", v.plan)
    .field("webhook_secret", v.webhook_secret)
    .field("created_at", v.created_at_ms);
  if (!v.previous_webhook_secret.empty())
    w.field("previous_webhook_secret", v.previous_webhook_secret)
      .field("previous_secret_until", v.previous_secret_until_ms);
  if (!v.monthly_period.empty()) w.field("monthly_period", v.monthly_period);
  if (v.last_job_seq != 0) w.field("last_job_seq", v.last_job_seq);
  write_balance(w, v.balance);
  w.end_object();
  return w.take();
}

std::optional<account> decode_account(std::string_view bytes) {
  auto root = parse(bytes);
  if (!root) return std::nullopt;
  element e = *root;
  account v;
  v.id = text(e, "id");
  v.name = text(e, "name");
  v.plan = text(e, "plan");
  v.webhook_secret = text(e, "webhook_secret");
  v.previous_webhook_secret = text(e, "previous_webhook_secret");
  v.previous_secret_until_ms = integer(e, "previous_secret_until");
  v.created_at_ms = integer(e, "created_at");
  element b;
  if (e["balance"].get(b) == simdjson::SUCCESS) {
    v.balance.available = integer(b, "available");
    v.balance.held = integer(b, "held");
    v.balance.used = integer(b, "used");
    v.balance.granted = integer(b, "granted");
    v.balance.monthly = integer(b, "monthly");
  }
  v.monthly_period = text(e, "monthly_period");
  v.last_job_seq = static_cast<std::uint64_t>(integer(e, "last_job_seq"));
  if (v.id.empty()) return std::nullopt;
  return v;
}

std::string encode_record(const api_key& v) {
  json_writer w;
  w.begin_object()
    .field("id", v.id)
    .field("account_id", v.account_id)
    .field("hash", v.hash)
    .field("prefix", v.prefix)
    .field("name", v.name)
    .field("created_at", v.created_at_ms)
    .field("last_used_at", v.last_used_at_ms)
    .field("revoked_at", v.revoked_at_ms);
  if (v.mode != key_mode::live) w.field("mode", key_mode_name(v.mode));  // absent: live
  w.end_object();
  return w.take();
}

std::optional<api_key> decode_key(std::string_view bytes) {
  auto root = parse(bytes);
  if (!root) return std::nullopt;
  element e = *root;
  api_key v;
  v.id = text(e, "id");
  v.account_id = text(e, "account_id");
  v.hash = text(e, "hash");
  v.prefix = text(e, "prefix");
  v.name = text(e, "name");
  v.created_at_ms = integer(e, "created_at");
  v.last_used_at_ms = integer(e, "last_used_at");
  v.revoked_at_ms = integer(e, "revoked_at");
  auto mode_name = text(e, "mode");
  auto mode = parse_key_mode(mode_name.empty() ? "live" : mode_name);
  if (v.id.empty() || v.hash.empty() || !mode) return std::nullopt;
  v.mode = *mode;
  return v;
}

std::string encode_record(const ledger_entry& v) {
  json_writer w;
  w.begin_object()
    .field("id", v.id)
    .field("seq", v.seq)
    .field("at", v.at_ms)
    .field("kind", ledger_kind_name(v.kind))
    .field("amount", v.amount)
    .field("job_id", v.job_id)
    .field("model", v.model)
    .field("reason", v.reason)
    .field("available_after", v.available_after);
  if (v.monthly != 0) w.field("monthly", v.monthly);
  w.end_object();
  return w.take();
}

std::optional<ledger_entry> decode_ledger_entry(std::string_view bytes) {
  auto root = parse(bytes);
  if (!root) return std::nullopt;
  element e = *root;
  auto kind = parse_ledger_kind(text(e, "kind"));
  if (!kind) return std::nullopt;
  ledger_entry v;
  v.id = text(e, "id");
  v.seq = static_cast<std::uint64_t>(integer(e, "seq"));
  v.at_ms = integer(e, "at");
  v.kind = *kind;
  v.amount = integer(e, "amount");
  v.job_id = text(e, "job_id");
  v.model = text(e, "model");
  v.reason = text(e, "reason");
  v.available_after = integer(e, "available_after");
  v.monthly = integer(e, "monthly");
  if (v.id.empty()) return std::nullopt;
  return v;
}

std::string ledger_key(std::string_view account_id, std::uint64_t seq) {
  return account_job_key(account_id, seq);
}

std::string encode_record(const delivery& v) {
  json_writer w;
  w.begin_object()
    .field("id", v.id)
    .field("event_id", v.event_id)
    .field("event", v.event)
    .field("job_id", v.job_id)
    .field("account_id", v.account_id)
    .field("url", v.url)
    .field("trace_id", v.trace_id)
    .field("created_at", v.created_at_ms)
    .field("status", delivery_status_name(v.status))
    .field("next_attempt_at", v.next_attempt_at_ms);
  if (v.progress != 0) w.field("progress", v.progress);
  w.key("attempts").begin_array();
  for (const auto& a : v.attempts)
    w.begin_object()
      .field("attempt", a.attempt)
      .field("at", a.at_ms)
      .field("status_code", static_cast<std::int64_t>(a.status_code))
      .field("error", a.error)
      .field("duration_ms", a.duration_ms)
      .field("next_retry_at", a.next_retry_at_ms)
      .end_object();
  w.end_array().end_object();
  return w.take();
}

std::optional<delivery> decode_delivery(std::string_view bytes) {
  auto root = parse(bytes);
  if (!root) return std::nullopt;
  element e = *root;
  delivery v;
  v.id = text(e, "id");
  v.event_id = text(e, "event_id");
  v.event = text(e, "event");
  v.job_id = text(e, "job_id");
  v.account_id = text(e, "account_id");
  v.url = text(e, "url");
  v.trace_id = text(e, "trace_id");
  v.created_at_ms = integer(e, "created_at");
  auto status = parse_delivery_status(text(e, "status"));
  if (v.id.empty() || v.job_id.empty() || !status) return std::nullopt;
  v.status = *status;
  v.next_attempt_at_ms = integer(e, "next_attempt_at");
  v.progress = static_cast<std::uint32_t>(integer(e, "progress"));
  simdjson::dom::array attempts;
  if (e["attempts"].get_array().get(attempts) == simdjson::SUCCESS)
    for (element a : attempts) {
      delivery_attempt attempt;
      attempt.attempt = static_cast<std::uint32_t>(integer(a, "attempt"));
      attempt.at_ms = integer(a, "at");
      attempt.status_code = static_cast<int>(integer(a, "status_code"));
      attempt.error = text(a, "error");
      attempt.duration_ms = integer(a, "duration_ms");
      attempt.next_retry_at_ms = integer(a, "next_retry_at");
      v.attempts.push_back(std::move(attempt));
    }
  return v;
}

void put_event(write_batch& batch, std::string_view job_id, const job_event& event) {
  char suffix[40];
  std::snprintf(suffix, sizeof suffix, "/%016llx-%016llx",
                static_cast<unsigned long long>(event.at_ms),
                static_cast<unsigned long long>(event.order));
  json_writer w;
  w.begin_object()
    .field("at", event.at_ms)
    .field("type", event.type)
    .field("trace_id", event.trace_id)
    .key("details")
    .raw(event.details_json)
    .end_object();
  batch.put(column::job_events, std::string(job_id) + suffix, w.take());
}

std::optional<job_event> decode_event(std::string_view bytes) {
  auto root = parse(bytes);
  if (!root) return std::nullopt;
  element e = *root;
  job_event v;
  v.at_ms = integer(e, "at");
  v.type = text(e, "type");
  v.trace_id = text(e, "trace_id");
  element details;
  v.details_json =
    e["details"].get(details) == simdjson::SUCCESS ? simdjson::minify(details) : std::string("{}");
  if (v.type.empty()) return std::nullopt;
  return v;
}

std::string delivery_key(std::string_view job_id, std::string_view delivery_id) {
  return std::string(job_id) + "/" + std::string(delivery_id);
}

void put_delivery(write_batch& batch, const delivery& value) {
  auto key = delivery_key(value.job_id, value.id);
  batch.put(column::deliveries, key, encode(value));
  if (value.status == delivery_status::pending) batch.put(column::pending_deliveries, key, {});
  else batch.erase(column::pending_deliveries, std::move(key));
}

std::string idempotency_key(std::string_view account_id, std::string_view key) {
  return std::string(account_id) + "/" + std::string(key);
}

std::string idempotency_expiry_key(std::string_view account_id, std::int64_t expires_at_ms,
                                   std::string_view key) {
  char digits[17];
  std::snprintf(digits, sizeof digits, "%016llx", static_cast<unsigned long long>(expires_at_ms));
  return account_job_prefix(account_id) + digits + "/" + std::string(key);
}

bool parse_idempotency_expiry(std::string_view rest, std::int64_t& expires_at_ms,
                              std::string& key) {
  if (rest.size() < 18 || rest[16] != '/') return false;
  std::uint64_t value = 0;
  if (!parse_seq(rest.substr(0, 16), value)) return false;
  expires_at_ms = static_cast<std::int64_t>(value);
  key = std::string(rest.substr(17));
  return true;
}

std::string encode_record(const idempotency_record& v) {
  std::string out = v.fingerprint + "\n" + std::to_string(v.expires_at_ms) + "\n";
  if (v.created) out += "job\n" + encode(*v.created);
  else if (v.granted) out += "grant\n" + encode(*v.granted);
  return out;
}

std::optional<idempotency_record> decode_idempotency_record(std::string_view bytes) {
  std::string_view lines[3];
  for (auto& line : lines) {
    auto end = bytes.find('\n');
    if (end == std::string_view::npos) return std::nullopt;
    line = bytes.substr(0, end);
    bytes.remove_prefix(end + 1);
  }
  idempotency_record v;
  v.fingerprint = std::string(lines[0]);
  auto [end, ec] =
    std::from_chars(lines[1].data(), lines[1].data() + lines[1].size(), v.expires_at_ms);
  if (ec != std::errc{} || v.fingerprint.empty()) return std::nullopt;
  if (lines[2] == "job") v.created = decode_job(bytes);
  else if (lines[2] == "grant") v.granted = decode_ledger_entry(bytes);
  if (!v.created && !v.granted) return std::nullopt;
  return v;
}

void bind_idempotency_key(write_batch& batch, std::string_view account_id, std::string_view key,
                          const idempotency_record& value) {
  batch.put(column::idempotency, idempotency_key(account_id, key), encode(value));
  batch.put(column::idempotency_expiry,
            idempotency_expiry_key(account_id, value.expires_at_ms, key), {});
}

std::string account_job_prefix(std::string_view account_id) {
  return std::string(account_id) + "/";
}

bool parse_seq(std::string_view digits, std::uint64_t& seq) {
  if (digits.size() != 16) return false;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), seq, 16);
  return ec == std::errc{} && end == digits.data() + digits.size();
}

std::string account_job_key(std::string_view account_id, std::uint64_t seq) {
  char digits[17];
  std::snprintf(digits, sizeof digits, "%016llx", static_cast<unsigned long long>(seq));
  return account_job_prefix(account_id) + digits;
}

write_batch create_account_batch(const account& value, const api_key& key,
                                 const std::optional<ledger_entry>& initial_grant) {
  write_batch batch;
  batch.put(column::accounts, value.id, encode(value));
  batch.put(column::keys, key.hash, encode(key));
  if (initial_grant)
    batch.put(column::ledger, ledger_key(value.id, initial_grant->seq), encode(*initial_grant));
  return batch;
}

void put_job(write_batch& batch, const job& value, const job* before) {
  batch.put(column::jobs, value.id, encode(value));
  if (!before)
    batch.put(column::account_jobs, account_job_key(value.account_id, value.seq), value.id);
  listing::update(batch, value, before);
  output_expiry::update(batch, value, before);
}

write_batch job_batch(const job& value, const job* before) {
  write_batch batch;
  put_job(batch, value, before);
  return batch;
}

// -- encoding, checked under verification ---------------------------------------------------------

/// Under KILN_VERIFY (the tests), every record is decoded again as it is encoded, and must encode
/// back to the same bytes: a field the decoder forgets fails at once, not after a restart.
template <class T, class Decode>
std::string checked(const T& value, Decode decode) {
  std::string bytes = encode_record(value);
  KILN_VERIFY([&] {
    auto back = decode(bytes);
    return back && encode_record(*back) == bytes;
  }());
  return bytes;
}

std::string encode(const job& v) { return checked(v, decode_job); }
std::string encode(const account& v) { return checked(v, decode_account); }
std::string encode(const api_key& v) { return checked(v, decode_key); }
std::string encode(const ledger_entry& v) { return checked(v, decode_ledger_entry); }
std::string encode(const delivery& v) { return checked(v, decode_delivery); }
std::string encode(const idempotency_record& v) { return checked(v, decode_idempotency_record); }

}  // namespace kiln::records
