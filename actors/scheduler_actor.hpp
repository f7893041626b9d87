// The scheduler: the jobs waiting for a device, in one queue per account served round-robin
// (fair share), each account's plan concurrency, the slots of every device, retries on other
// devices, device restarts and a circuit breaker per device. Its messages are in
// protocol/scheduler.hpp; how it decides is in scheduler_actor.cpp.
#pragma once

#include "base/clock.hpp"
#include "protocol/scheduler.hpp"

#include <caf/fwd.hpp>

#include <chrono>
#include <cstdint>

namespace kiln {

struct scheduler_options {
  std::uint32_t breaker_failures = 3;  ///< failed runs in a row that take a device down
  std::chrono::milliseconds breaker_cooldown{5000};  ///< first down period before a probe
};

scheduler_actor spawn_scheduler(caf::actor_system& system, scheduler_options options,
                                clock_ptr clock);

}  // namespace kiln
