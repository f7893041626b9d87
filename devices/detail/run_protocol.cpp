// The http executor's wire format; see the header.
#include "devices/detail/run_protocol.hpp"

#include "models/crypto.hpp"
#include "models/json_writer.hpp"

#include <cctype>

namespace kiln::detail {
namespace {

constexpr std::size_t quoted_error_bytes_max = 300;

}  // namespace

std::string create_body(const http_run_request& r) {
  json_writer w;
  w.begin_object()
    .field("job_id", r.job_id)
    .field("type", r.type)
    .field("model", r.model)
    .field("prompt", r.prompt)
    .field("n", r.n)
    .key("params")
    .begin_object()
    .field("width", r.width)
    .field("height", r.height)
    .field("duration_seconds", r.duration_seconds)
    .field("seed", r.seed)
    .end_object()
    .key("options")
    .raw(r.options.empty() ? std::string_view("{}") : r.options);
  if (!r.inputs.empty()) w.key("inputs").raw(r.inputs);
  w.field("attempt", r.attempt).field("trace_id", r.trace_id).end_object();
  return w.take();
}

/// Reads `outputs`; the problem as text, "" when all is well.
std::string read_outputs(simdjson::dom::element root, std::uint32_t expected,
                         std::vector<http_run_output>& out) {
  simdjson::dom::array outputs;
  if (root["outputs"].get_array().get(outputs) != simdjson::SUCCESS)
    return "\"outputs\" is not an array";
  if (outputs.size() != expected)
    return std::to_string(outputs.size()) + " outputs, expected " + std::to_string(expected);
  std::size_t index = 0;
  for (simdjson::dom::element each : outputs) {
    std::string_view content_type, data;
    auto where = "outputs[" + std::to_string(index++) + "]";
    if (each["content_type"].get_string().get(content_type) != simdjson::SUCCESS ||
        content_type.empty())
      return where + ".content_type is not a non-empty string";
    if (each["data_base64"].get_string().get(data) != simdjson::SUCCESS)
      return where + ".data_base64 is not a string";
    http_run_output output;
    output.content_type = std::string(content_type);
    if (!crypto::base64_decode(data, output.bytes))
      return where + ".data_base64 is not valid base64";
    if (output.bytes.empty()) return where + " is empty";
    out.push_back(std::move(output));
  }
  return {};
}

/// Text from a server, made safe to embed in an error: printable, bounded.
std::string printable(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, quoted_error_bytes_max))
    out.push_back(static_cast<unsigned char>(c) < 0x20 || c == 0x7f ? ' ' : c);
  if (text.size() > quoted_error_bytes_max) out += "...";
  return out;
}

std::string percent_encode(std::string_view text) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  for (char c : text) {
    auto byte = static_cast<unsigned char>(c);
    if (std::isalnum(byte) || c == '-' || c == '.' || c == '_' || c == '~') {
      out.push_back(c);
    } else {
      out.push_back('%');
      out.push_back(digits[byte >> 4]);
      out.push_back(digits[byte & 15]);
    }
  }
  return out;
}

}  // namespace kiln::detail
