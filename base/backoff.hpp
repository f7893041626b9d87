// The back-off of writes that must land: each retry waits twice as long as the one before,
// from write_retry_delay_min up to write_retry_delay_max (config/limits.hpp).
#pragma once

#include <algorithm>
#include <chrono>

namespace kiln {

class backoff {
public:
  backoff(std::chrono::milliseconds first, std::chrono::milliseconds most)
    : first_(first), most_(most), next_(first) {}
  /// How long to wait before the next try; doubles the wait after it.
  std::chrono::milliseconds next() {
    auto wait = next_;
    next_ = std::min(next_ * 2, most_);
    return wait;
  }
  /// The last try succeeded: the next failure waits `first` again.
  void reset() { next_ = first_; }

private:
  std::chrono::milliseconds first_;
  std::chrono::milliseconds most_;
  std::chrono::milliseconds next_;
};

}  // namespace kiln
