// The scheduler: the queue of jobs waiting for a device, and the slots of every device. It hands
// the oldest waiting job a device that serves its model and has a free slot.
// Fair share across accounts and plan concurrency grow here.
#pragma once

#include <caf/fwd.hpp>

namespace kiln {
caf::actor spawn_scheduler(caf::actor_system& system);
}  // namespace kiln
