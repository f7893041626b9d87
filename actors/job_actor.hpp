// The job actor: one per live job, owning its state machine queued -> processing -> succeeded |
// failed. Every transition is committed to the store before anyone can observe it.
#pragma once

#include "actors/actor_context.hpp"
#include "models/job.hpp"

#include <caf/fwd.hpp>

#include <memory>

namespace kiln {

/// Spawns the actor for `record` (queued, or recovered after a restart) and queues it.
/// `account` is told `job_done` once the job is terminal and durable.
caf::actor spawn_job(caf::actor_system& system, std::shared_ptr<const actor_context> context,
                     job record, caf::actor account);

}  // namespace kiln
