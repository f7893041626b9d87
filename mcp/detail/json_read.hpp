// Reading optional members of parsed JSON without an error path for each: a value or a fallback.
#pragma once

#include <simdjson.h>

#include <string_view>

namespace kiln::mcp::detail {

/// The string at `value`, or `fallback` when it is missing or not a string.
inline std::string_view text_or(simdjson::simdjson_result<simdjson::dom::element> value,
                                std::string_view fallback = {}) {
  std::string_view text;
  return value.get_string().get(text) == simdjson::SUCCESS ? text : fallback;
}

}  // namespace kiln::mcp::detail
