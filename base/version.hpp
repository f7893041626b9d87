// Kiln's release version, reported by `kiln --version` and to MCP clients (serverInfo).
#pragma once

#include <string_view>

namespace kiln {

inline constexpr std::string_view version = "0.1.0";

}  // namespace kiln
