// What the record decoders share: this thread's parser and field readers that default a
// missing field (records written before the field existed decode with its default).
#pragma once

#include "models/job.hpp"

#include <simdjson.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kiln::records::detail {

using simdjson::dom::element;

inline std::string text(element e, const char* key) {
  std::string_view v;
  if (e[key].get_string().get(v) != simdjson::SUCCESS) return {};
  return std::string(v);
}

inline std::int64_t integer(element e, const char* key) {
  std::int64_t v = 0;
  if (e[key].get_int64().get(v) != simdjson::SUCCESS) return 0;
  return v;
}

/// The record's root object, parsed by this thread's one parser: valid until the thread parses
/// the next record, so a decoder reads everything it needs before it decodes another.
inline std::optional<element> parse(std::string_view bytes) {
  thread_local simdjson::dom::parser parser;
  element root;
  if (parser.parse(bytes.data(), bytes.size()).get(root) != simdjson::SUCCESS) return std::nullopt;
  if (!root.is_object()) return std::nullopt;
  return root;
}

}  // namespace kiln::records::detail

namespace kiln::records {

/// The job's record as JSON, unchecked (job_record.cpp; records::encode checks it).
std::string encode_record(const job& value);

}  // namespace kiln::records
