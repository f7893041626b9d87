// The GPU telemetry actor; see the header.
#include "devices/gpu_telemetry.hpp"

#include "devices/nvml.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace kiln {
namespace {

using telemetry_actor = caf::typed_actor<caf::reacts_to<tick_atom>>;

constexpr std::chrono::seconds telemetry_interval{2};

telemetry_actor::behavior_type gpu_telemetry(telemetry_actor::pointer self,
                                             const nvml::library* gpus, scheduler_actor scheduler) {
  self->send(self, tick_atom::value);
  return {[=](tick_atom) {
    std::string error;
    for (const auto& gpu : gpus->list(error)) {
      device_view view;
      view.id = "gpu-" + std::to_string(gpu.index);
      view.gpu_name = gpu.name;
      view.gpu_uuid = gpu.uuid;
      view.memory_total_bytes = gpu.memory_total_bytes;
      view.memory_used_bytes = gpu.memory_used_bytes;
      view.utilization_percent = gpu.utilization_percent;
      self->send(scheduler, devices_atom::value, std::move(view));
    }
    self->delayed_send(self, telemetry_interval, tick_atom::value);
  }};
}

}  // namespace

void spawn_gpu_telemetry(caf::actor_system& system, const nvml::library* gpus,
                         scheduler_actor scheduler) {
  system.spawn(gpu_telemetry, gpus, std::move(scheduler));
}

}  // namespace kiln
