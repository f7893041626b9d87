// The job's record: everything a job is, as JSON, and its decoding (which also reads records
// written before options, origins and output roles existed).
#include "persistence/records.hpp"

#include "models/json_writer.hpp"
#include "persistence/detail/record_json.hpp"

namespace kiln::records {
namespace {

using detail::integer;
using detail::parse;
using detail::text;
using simdjson::dom::element;

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

/// The job's inputs, `[[role, upload_id, file, content_type, bytes, width, height,
/// duration_us], ...]`; none in records written before inputs.
void decode_inputs(element e, std::vector<job_input>& inputs) {
  simdjson::dom::array array;
  if (e["inputs"].get_array().get(array) != simdjson::SUCCESS) return;
  for (element i : array) {
    std::string_view role, upload_id, type;
    std::uint64_t file = 0, bytes = 0, width = 0, height = 0;
    std::int64_t duration_us = 0;
    if (i.at(0).get_string().get(role) != simdjson::SUCCESS ||
        i.at(1).get_string().get(upload_id) != simdjson::SUCCESS ||
        i.at(2).get_uint64().get(file) != simdjson::SUCCESS ||
        i.at(3).get_string().get(type) != simdjson::SUCCESS ||
        i.at(4).get_uint64().get(bytes) != simdjson::SUCCESS ||
        i.at(5).get_uint64().get(width) != simdjson::SUCCESS ||
        i.at(6).get_uint64().get(height) != simdjson::SUCCESS ||
        i.at(7).get_int64().get(duration_us) != simdjson::SUCCESS)
      continue;
    job_input input;
    input.role = std::string(role);
    input.upload_id = std::string(upload_id);
    input.file = static_cast<std::uint32_t>(file);
    input.content_type = std::string(type);
    input.bytes = bytes;
    input.width = static_cast<std::uint32_t>(width);
    input.height = static_cast<std::uint32_t>(height);
    input.duration_us = duration_us;
    inputs.push_back(std::move(input));
  }
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
  if (!v.spec.livemode) w.field("livemode", false);  // absent: live, as every older record
  if (!v.spec.inputs.empty()) {
    w.key("inputs").begin_array();
    for (const auto& i : v.spec.inputs)
      w.begin_array()
        .value(i.role)
        .value(i.upload_id)
        .value(i.file)
        .value(i.content_type)
        .value(i.bytes)
        .value(i.width)
        .value(i.height)
        .value(i.duration_us)
        .end_array();
    w.end_array();
  }
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
  if (v.deleted_at_ms != 0) w.field("deleted_at", v.deleted_at_ms);
  if (v.outputs_expired_at_ms != 0) w.field("outputs_expired_at", v.outputs_expired_at_ms);
  if (v.credits_held_monthly != 0) w.field("credits_held_monthly", v.credits_held_monthly);
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
  bool livemode = true;
  if (e["livemode"].get_bool().get(livemode) == simdjson::SUCCESS) v.spec.livemode = livemode;
  decode_inputs(e, v.spec.inputs);
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
  v.deleted_at_ms = integer(e, "deleted_at");
  v.outputs_expired_at_ms = integer(e, "outputs_expired_at");
  v.credits_held_monthly = integer(e, "credits_held_monthly");
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

}  // namespace kiln::records
