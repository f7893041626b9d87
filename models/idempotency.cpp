// Canonical JSON and request fingerprints for idempotency keys.
#include "models/idempotency.hpp"

#include "config/limits.hpp"
#include "models/crypto.hpp"
#include "models/json_writer.hpp"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <utility>
#include <vector>

namespace kiln {
namespace {

void write_canonical(std::string& out, simdjson::dom::element value) {
  using simdjson::dom::element_type;
  switch (value.type()) {
    case element_type::OBJECT: {
      std::vector<std::pair<std::string_view, simdjson::dom::element>> fields;
      for (auto field : simdjson::dom::object(value)) fields.emplace_back(field.key, field.value);
      std::stable_sort(fields.begin(), fields.end(),
                       [](const auto& a, const auto& b) { return a.first < b.first; });
      out += '{';
      for (std::size_t i = 0; i < fields.size(); ++i) {
        if (i) out += ',';
        out += '"';
        json_escape(out, fields[i].first);
        out += "\":";
        write_canonical(out, fields[i].second);
      }
      out += '}';
      return;
    }
    case element_type::ARRAY: {
      out += '[';
      bool first = true;
      for (auto item : simdjson::dom::array(value)) {
        if (!first) out += ',';
        first = false;
        write_canonical(out, item);
      }
      out += ']';
      return;
    }
    case element_type::STRING:
      out += '"';
      json_escape(out, std::string_view(value));
      out += '"';
      return;
    case element_type::INT64:
      out += std::to_string(std::int64_t(value));
      return;
    case element_type::UINT64:
      out += std::to_string(std::uint64_t(value));
      return;
    case element_type::DOUBLE: {
      double number = double(value);
      if (number == static_cast<double>(static_cast<std::int64_t>(number)) && number > -9.0e15 &&
          number < 9.0e15) {
        out += std::to_string(static_cast<std::int64_t>(number));  // 2.0 is the value 2
        return;
      }
      char buffer[32];
      auto end = std::to_chars(buffer, buffer + sizeof buffer, number).ptr;
      out.append(buffer, end);
      return;
    }
    case element_type::BOOL:
      out += bool(value) ? "true" : "false";
      return;
    case element_type::NULL_VALUE:
      out += "null";
      return;
  }
}

}  // namespace

std::optional<std::string> canonical_json(std::string_view body) {
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (parser.parse(body.data(), body.size(), true).get(root) != simdjson::SUCCESS)
    return std::nullopt;
  std::string out;
  out.reserve(body.size());
  write_canonical(out, root);
  return out;
}

std::string request_fingerprint(std::string_view method, std::string_view path,
                                std::string_view body) {
  auto canonical = canonical_json(body);
  std::string text;
  text.reserve(method.size() + path.size() + body.size() + 2);
  text.append(method).append(" ").append(path).append("\n");
  text.append(canonical ? std::string_view(*canonical) : body);
  return crypto::sha256_hex(text);
}

bool valid_idempotency_key(std::string_view key) {
  if (key.size() < limits::idempotency_key_bytes_min ||
      key.size() > limits::idempotency_key_bytes_max)
    return false;
  return std::all_of(key.begin(), key.end(),
                     [](unsigned char ch) { return ch >= 0x20 && ch < 0x7F; });
}

}  // namespace kiln
