// Structured logs: one JSON object per line on stderr, one named logger per layer, UTC timestamps.
// Messages are written as JSON fields; user-supplied strings go through `json_text`.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace spdlog {
class logger;
}

namespace kiln::logs {

/// Creates the loggers ("runtime", "http", "actors", "store") at `level` (info, debug, warn...).
void init(std::string_view level);
std::shared_ptr<spdlog::logger> get(std::string_view layer);
/// `text` escaped for use inside a JSON string literal.
std::string json_text(std::string_view text);

}  // namespace kiln::logs
