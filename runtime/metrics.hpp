// Process-wide counters for GET /metrics and the benchmarks. Plain relaxed atomics: each is
// written by many actors and read rarely, and none of them guards any other state.
#pragma once

#include <atomic>
#include <cstdint>

namespace kiln::metrics {

struct counters {
  std::atomic<std::uint64_t> jobs_created{0};
  std::atomic<std::uint64_t> jobs_succeeded{0};
  std::atomic<std::uint64_t> jobs_failed{0};
  std::atomic<std::uint64_t> job_attempts_failed{0};
};

inline counters& global() {
  static counters instance;
  return instance;
}

inline void add(std::atomic<std::uint64_t>& counter) {
  counter.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace kiln::metrics
