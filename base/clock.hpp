// The one source of time. Production reads the system clock; tests use a manual clock they advance.
// Actors read `now` once per message and pass it into their decision code.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>

namespace kiln {

class clock {
public:
  virtual ~clock() = default;
  /// Unix time in milliseconds.
  virtual std::int64_t now_ms() const = 0;
};

class system_clock final : public clock {
public:
  /// `offset_ms`: how far ahead of the system's time this clock runs (faults.clock_offset_ms).
  explicit system_clock(std::int64_t offset_ms = 0) : offset_ms_(offset_ms) {}
  std::int64_t now_ms() const override {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
             .count() +
           offset_ms_;
  }

private:
  std::int64_t offset_ms_;
};

class manual_clock final : public clock {
public:
  explicit manual_clock(std::int64_t start_ms) : now_(start_ms) {}
  std::int64_t now_ms() const override { return now_.load(); }
  void advance(std::chrono::milliseconds by) { now_ += by.count(); }

private:
  std::atomic<std::int64_t> now_;
};

using clock_ptr = std::shared_ptr<const clock>;

}  // namespace kiln
