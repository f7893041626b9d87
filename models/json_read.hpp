// Reading members of parsed JSON that may be missing or of another type, without an error path
// for each: the value, or a fallback. For translations of other APIs' bodies and answers.
#pragma once

#include <simdjson.h>

#include <cstdint>
#include <string_view>

namespace kiln::json_read {

/// The string at `value`, or `fallback` when it is missing or not a string.
inline std::string_view text_or(simdjson::simdjson_result<simdjson::dom::element> value,
                                std::string_view fallback = {}) {
  std::string_view text;
  return value.get_string().get(text) == simdjson::SUCCESS ? text : fallback;
}
inline std::string_view text_or(simdjson::dom::element value, std::string_view fallback = {}) {
  return text_or(simdjson::simdjson_result<simdjson::dom::element>(std::move(value)), fallback);
}

/// The integer at `value`, or `fallback` when it is missing or not an integer.
inline std::int64_t integer_or(simdjson::simdjson_result<simdjson::dom::element> value,
                               std::int64_t fallback = 0) {
  std::int64_t number = 0;
  return value.get_int64().get(number) == simdjson::SUCCESS ? number : fallback;
}

}  // namespace kiln::json_read
