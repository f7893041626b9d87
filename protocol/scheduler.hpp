// The scheduler: queued jobs in fair-share order, device slots, retries on other devices, device
// restarts and a circuit breaker per device. A queued job is a ticket here; when it gets a slot,
// the ticket's dispatch target (the job's actor, or its account's job router while it has none)
// is told `dispatch` with the device, and later releases the slot with `release`.
#pragma once

#include "models/device_status.hpp"
#include "protocol/device.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace kiln {

struct job_ticket;

/// Who is told that a queued job got a slot: (ticket, device id, device).
using dispatch_target_actor =
  caf::typed_actor<caf::reacts_to<dispatch_atom, job_ticket, std::string, device_actor>>;

/// A queued job as the scheduler sees it: small, so 100k of them stay cheap.
struct job_ticket {
  std::string job_id;
  std::string account_id;
  std::string model;
  std::uint32_t max_concurrent_jobs = 0;  ///< the account's plan limit; 0 = none
  dispatch_target_actor target;
  std::vector<std::string> failed_on;  ///< devices where an attempt failed: others come first
  /// A test job's (made with a test key): only `sim` devices may run it; with none serving its
  /// model it waits queued.
  bool sim_only = false;
};

/// A device as GET /admin/v1/devices shows it.
struct device_view {
  std::string id;
  std::string executor;
  device_status status = device_status::up;
  std::uint32_t slots = 0;
  std::uint32_t busy = 0;
  std::vector<std::string> models;
  std::vector<std::string> running;  ///< job ids
  std::uint64_t completed = 0;
  std::uint64_t failed = 0;
  std::uint64_t crashes = 0;  ///< times the device actor died and was restarted
  std::uint32_t consecutive_failures = 0;
  std::int64_t down_until_ms = 0;  ///< while down: when it is probed again
  /// A GPU found through NVML ("devices": "auto"): its identity and latest telemetry.
  std::string gpu_name;
  std::string gpu_uuid;
  std::uint64_t memory_total_bytes = 0;
  std::uint64_t memory_used_bytes = 0;
  std::uint32_t utilization_percent = 0;
};

struct devices_report {
  std::vector<device_view> devices;
  std::uint64_t queued = 0;
};

/// Starts a device actor again after it died.
using device_factory = std::function<device_actor()>;

using scheduler_actor = caf::typed_actor<
  /// A device and how to restart it; the scheduler monitors it.
  caf::reacts_to<register_atom, device_view, device_actor, device_factory>,
  caf::reacts_to<enqueue_atom, job_ticket>,
  /// (device id, job id, failed): the job's slot is free; `failed` counts for the breaker.
  caf::reacts_to<release_atom, std::string, std::string, bool>,
  /// (account id, job id): the job left the queue (canceled).
  caf::reacts_to<withdraw_atom, std::string, std::string>,
  /// (account id, job id): its place in fair-share order, 1-based; 0 when not queued.
  caf::replies_to<position_atom, std::string, std::string>::with<std::uint64_t>,
  caf::replies_to<devices_atom>::with<devices_report>,
  /// A device's latest GPU readings.
  caf::reacts_to<devices_atom, device_view>,
  /// Internal: device `id`'s cooldown ended.
  caf::reacts_to<tick_atom, std::string>>;

}  // namespace kiln

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::job_ticket)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::device_view)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::devices_report)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::device_factory)
