// JSON record encoding for jobs, accounts and keys, decoded with simdjson's DOM parser.
#include "persistence/records.hpp"

#include "base/assert.hpp"
#include "models/json_writer.hpp"

#include <simdjson.h>

#include <charconv>
#include <cstdio>

namespace kiln::records {
namespace {

using simdjson::dom::element;

std::string text(element e, const char* key) {
  std::string_view v;
  if (e[key].get_string().get(v) != simdjson::SUCCESS) return {};
  return std::string(v);
}

std::int64_t integer(element e, const char* key) {
  std::int64_t v = 0;
  if (e[key].get_int64().get(v) != simdjson::SUCCESS) return 0;
  return v;
}

/// The record's root object, parsed by this thread's one parser: valid until the thread parses
/// the next record, so a decoder reads everything it needs before it decodes another.
std::optional<element> parse(std::string_view bytes) {
  thread_local simdjson::dom::parser parser;
  element root;
  if (parser.parse(bytes.data(), bytes.size()).get(root) != simdjson::SUCCESS) return std::nullopt;
  if (!root.is_object()) return std::nullopt;
  return root;
}

/// A job's metadata as minified JSON: an object in records since metadata holds any JSON value,
/// and `[[key, value], ...]` string pairs in records written before.
std::string decode_metadata(element e) {
  simdjson::dom::object object;
  if (e["metadata"].get_object().get(object) == simdjson::SUCCESS)
    return object.size() == 0 ? std::string() : simdjson::minify(object);
  simdjson::dom::array pairs;
  if (e["metadata"].get_array().get(pairs) != simdjson::SUCCESS || pairs.size() == 0) return {};
  json_writer w;
  w.begin_object();
  for (element pair : pairs) {
    std::string_view k, value;
    if (pair.at(0).get_string().get(k) == simdjson::SUCCESS &&
        pair.at(1).get_string().get(value) == simdjson::SUCCESS)
      w.field(k, value);
  }
  return w.end_object().take();
}

void write_balance(json_writer& w, const balance& b) {
  w.key("balance")
    .begin_object()
    .field("available", b.available)
    .field("held", b.held)
    .field("used", b.used)
    .field("granted", b.granted)
    .end_object();
}

}  // namespace

std::string encode_record(const job& v) {
  json_writer w;
  w.begin_object()
    .field("id", v.id)
    .field("account_id", v.account_id)
    .field("seq", v.seq)
    .field("type", v.spec.type)
    .field("model", v.spec.model)
    .field("prompt", v.spec.prompt)
    .field("n", v.spec.n)
    .field("width", v.spec.params.width)
    .field("height", v.spec.params.height)
    .field("duration_seconds", v.spec.params.duration_seconds)
    .field("seed", v.spec.params.seed)
    .field("webhook_url", v.spec.webhook_url)
    .field("cost", v.spec.cost);
  if (!v.spec.metadata.empty()) w.key("metadata").raw(v.spec.metadata);
  if (!v.spec.options.empty()) w.key("options").raw(v.spec.options);
  if (const auto& o = v.spec.origin; !o.frontend.empty()) {
    w.key("origin")
      .begin_object()
      .field("frontend", o.frontend)
      .field("task", o.task)
      .field("webhook_format", o.webhook_format)
      .field("credit_usd_micros", o.credit_usd_micros);
    if (!o.input.empty()) w.key("input").raw(o.input);
    if (!o.adjustments.empty()) w.key("adjustments").raw(o.adjustments);
    w.end_object();
  }
  w.field("status", status_name(v.status))
    .field("credits_held", v.credits_held)
    .field("credits_used", v.credits_used)
    .field("credits_refunded", v.credits_refunded)
    .field("progress", v.progress)
    .field("device", v.device)
    .field("attempts", v.attempts)
    .field("trace_id", v.trace_id)
    .field("created_at", v.created_at_ms)
    .field("started_at", v.started_at_ms)
    .field("completed_at", v.completed_at_ms)
    .field("canceled_at", v.canceled_at_ms);
  w.key("outputs").begin_array();
  for (const auto& o : v.outputs)
    w.begin_array()
      .value(o.file)
      .value(o.content_type)
      .value(o.bytes)
      .value(o.role)
      .value(o.width)
      .value(o.height)
      .value(o.duration_ms)
      .end_array();
  w.end_array();
  if (v.error)
    w.key("error").begin_array().value(v.error->code).value(v.error->message).end_array();
  w.end_object();
  return w.take();
}

std::optional<job> decode_job(std::string_view bytes) {
  auto root = parse(bytes);
  if (!root) return std::nullopt;
  element e = *root;
  job v;
  v.id = text(e, "id");
  v.account_id = text(e, "account_id");
  v.seq = static_cast<std::uint64_t>(integer(e, "seq"));
  v.spec.type = text(e, "type");
  v.spec.model = text(e, "model");
  v.spec.prompt = text(e, "prompt");
  v.spec.n = static_cast<std::uint32_t>(integer(e, "n"));
  v.spec.params.width = static_cast<std::uint32_t>(integer(e, "width"));
  v.spec.params.height = static_cast<std::uint32_t>(integer(e, "height"));
  v.spec.params.duration_seconds = static_cast<std::uint32_t>(integer(e, "duration_seconds"));
  v.spec.params.seed = static_cast<std::uint64_t>(integer(e, "seed"));
  v.spec.webhook_url = text(e, "webhook_url");
  v.spec.cost = integer(e, "cost");
  v.spec.metadata = decode_metadata(e);
  simdjson::dom::object options;
  if (e["options"].get_object().get(options) == simdjson::SUCCESS)
    v.spec.options = simdjson::minify(options);
  element origin;
  if (e["origin"].get(origin) == simdjson::SUCCESS && origin.is_object()) {
    v.spec.origin.frontend = text(origin, "frontend");
    v.spec.origin.task = text(origin, "task");
    v.spec.origin.webhook_format = text(origin, "webhook_format");
    v.spec.origin.credit_usd_micros = integer(origin, "credit_usd_micros");
    element part;
    if (origin["input"].get(part) == simdjson::SUCCESS)
      v.spec.origin.input = simdjson::minify(part);
    if (origin["adjustments"].get(part) == simdjson::SUCCESS)
      v.spec.origin.adjustments = simdjson::minify(part);
  }
  auto status = parse_status(text(e, "status"));
  if (v.id.empty() || !status) return std::nullopt;
  v.status = *status;
  v.credits_held = integer(e, "credits_held");
  v.credits_used = integer(e, "credits_used");
  v.credits_refunded = integer(e, "credits_refunded");
  v.progress = static_cast<std::uint32_t>(integer(e, "progress"));
  v.device = text(e, "device");
  v.attempts = static_cast<std::uint32_t>(integer(e, "attempts"));
  v.trace_id = text(e, "trace_id");
  v.created_at_ms = integer(e, "created_at");
  v.started_at_ms = integer(e, "started_at");
  v.completed_at_ms = integer(e, "completed_at");
  v.canceled_at_ms = integer(e, "canceled_at");
  simdjson::dom::array outputs;
  if (e["outputs"].get_array().get(outputs) == simdjson::SUCCESS)
    for (element o : outputs) {
      std::string_view file, type;
      std::uint64_t size = 0;
      if (o.at(0).get_string().get(file) != simdjson::SUCCESS ||
          o.at(1).get_string().get(type) != simdjson::SUCCESS ||
          o.at(2).get_uint64().get(size) != simdjson::SUCCESS)
        continue;
      job_output output;
      output.file = std::string(file);
      output.content_type = std::string(type);
      output.bytes = size;
      // Records written before outputs had roles and sizes hold three elements.
      std::string_view role;
      std::uint64_t width = 0, height = 0, duration_ms = 0;
      if (o.at(3).get_string().get(role) == simdjson::SUCCESS) output.role = std::string(role);
      if (o.at(4).get_uint64().get(width) == simdjson::SUCCESS)
        output.width = static_cast<std::uint32_t>(width);
      if (o.at(5).get_uint64().get(height) == simdjson::SUCCESS)
        output.height = static_cast<std::uint32_t>(height);
      if (o.at(6).get_uint64().get(duration_ms) == simdjson::SUCCESS)
        output.duration_ms = static_cast<std::uint32_t>(duration_ms);
      v.outputs.push_back(std::move(output));
    }
  simdjson::dom::array error;
  if (e["error"].get_array().get(error) == simdjson::SUCCESS) {
    std::string_view code, message;
    if (error.at(0).get_string().get(code) == simdjson::SUCCESS &&
        error.at(1).get_string().get(message) == simdjson::SUCCESS)
      v.error = job_error{std::string(code), std::string(message)};
  }
  return v;
}

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
  }
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
    .field("revoked_at", v.revoked_at_ms)
    .end_object();
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
  if (v.id.empty() || v.hash.empty()) return std::nullopt;
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
    .field("available_after", v.available_after)
    .end_object();
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

write_batch job_batch(const job& value, bool is_new) {
  write_batch batch;
  batch.put(column::jobs, value.id, encode(value));
  if (is_new)
    batch.put(column::account_jobs, account_job_key(value.account_id, value.seq), value.id);
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
