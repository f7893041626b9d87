// Where failed assertions end: one line on stderr (and in the JSON logs), then abort().
#include "base/assert.hpp"

#include "base/logging.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace kiln::assertion {
namespace {

bool verify_from_environment() {
  const char* value = std::getenv("KILN_VERIFY");
  return value && std::strcmp(value, "1") == 0;
}

std::atomic<bool>& verify_flag() {
  static std::atomic<bool> flag{verify_from_environment()};
  return flag;
}

}  // namespace

void fail(const char* expression, const char* file, int line, const char* detail) {
  std::fprintf(stderr, "kiln: assertion failed: %s at %s:%d%s%s\n", expression, file, line,
               detail ? ": " : "", detail ? detail : "");
  if (auto log = spdlog::get("runtime"))
    log->critical(R"("event":"assertion.failed","expression":"{}","at":"{}:{}")",
                  logs::json_text(expression), logs::json_text(file), line);
  spdlog::shutdown();
  std::abort();
}

bool verify_enabled() { return verify_flag().load(std::memory_order_relaxed); }

void set_verify(bool on) { verify_flag().store(on, std::memory_order_relaxed); }

}  // namespace kiln::assertion
