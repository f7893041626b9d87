// spdlog set-up for JSON-lines logs.
#include "base/logging.hpp"

#include "base/json_escape.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace kiln::logs {

namespace {
constexpr const char* layers[] = {"runtime", "http",  "mcp",     "actors",
                                  "devices", "store", "webhooks"};
}

void init(std::string_view level) {
  auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  for (const char* name : layers) {
    spdlog::drop(name);
    auto logger = std::make_shared<spdlog::logger>(name, sink);
    logger->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%fZ","level":"%l","logger":"%n",%v})",
                        spdlog::pattern_time_type::utc);
    logger->set_level(spdlog::level::from_str(std::string(level)));
    logger->flush_on(spdlog::level::warn);
    spdlog::register_logger(logger);
  }
}

std::shared_ptr<spdlog::logger> get(std::string_view layer) {
  auto logger = spdlog::get(std::string(layer));
  if (!logger) {
    init("info");
    logger = spdlog::get(std::string(layer));
  }
  return logger;
}

std::string json_text(std::string_view text) {
  std::string out;
  json_escape(out, text);
  return out;
}

}  // namespace kiln::logs
