// GPU telemetry: every two seconds, each GPU's memory and utilization (through NVML) goes to the
// scheduler, which shows it in GET /admin/v1/devices.
#pragma once

#include "protocol/scheduler.hpp"

#include <caf/fwd.hpp>

namespace kiln {

namespace nvml {
class library;
}

/// Spawns the actor that reads `gpus` (which must outlive it) and tells `scheduler`.
void spawn_gpu_telemetry(caf::actor_system& system, const nvml::library* gpus,
                         scheduler_actor scheduler);

}  // namespace kiln
