// Device actors (protocol/device.hpp): one per configured device. A device runs up to `slots`
// jobs at once with its executor: `builtin` renders real PNG/GIF files on the CPU in detached
// workers, `sim` waits `latency_ms` and writes a small real PNG, `http` forwards the run to an
// inference server (docs/http-executor.md). Each can be told to fail (faults.device_fail_rate)
// or to crash (faults.device_crash_rate).
#pragma once

#include "base/faults.hpp"
#include "config/settings.hpp"
#include "protocol/scheduler.hpp"

#include <caf/fwd.hpp>

#include <string>

namespace kiln {

/// What a device needs from the node.
struct device_context {
  std::string files_dir;  ///< where outputs are written
  const settings* config = nullptr;
  faults_ptr faults;
  scheduler_actor scheduler;  ///< the device registers with it, which then supervises it
};

/// Spawns the device and registers it with the scheduler, which restarts it when it dies.
device_actor spawn_device(caf::actor_system& system, const device_context& context,
                          const device_settings& device);

}  // namespace kiln
