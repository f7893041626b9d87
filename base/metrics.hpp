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
  std::atomic<std::uint64_t> idempotent_replays{0};
  std::atomic<std::uint64_t> idempotency_keys_expired{0};
  std::atomic<std::uint64_t> webhook_attempts{0};
  std::atomic<std::uint64_t> webhooks_delivered{0};
  std::atomic<std::uint64_t> webhooks_failed{0};
  std::atomic<std::int64_t> job_actors{0};  ///< gauge: job actors alive now
};

inline counters& global() {
  static counters instance;
  return instance;
}

inline void add(std::atomic<std::uint64_t>& counter, std::uint64_t amount = 1) {
  counter.fetch_add(amount, std::memory_order_relaxed);
}

}  // namespace kiln::metrics
