// JSON string escaping, shared by the JSON writer and the logs.
#pragma once

#include <string>
#include <string_view>

namespace kiln {

/// Appends `text` to `out` as the inside of a JSON string (quotes not included).
void json_escape(std::string& out, std::string_view text);

}  // namespace kiln
