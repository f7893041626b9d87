// Device actors: one per configured device. A device runs up to `slots` jobs at once with its
// executor: `builtin` renders real PNG/GIF files on the CPU in detached workers, `sim` waits
// `latency_ms` and writes a small real PNG. Both can be told to fail (faults.device_fail_rate).
#pragma once

#include "actors/actor_context.hpp"
#include "config/settings.hpp"

#include <caf/fwd.hpp>

namespace kiln {

/// Spawns the device and registers it with the scheduler.
caf::actor spawn_device(caf::actor_system& system, const actor_context& context,
                        const device_settings& device);

}  // namespace kiln
