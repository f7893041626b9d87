// The job actor: one per live job, owning its state machine (actors/job_phase.hpp) and every
// write of its record after creation. Each transition is committed to the store before anyone
// can observe it; its end goes to the account's ledger, which writes it with the capture or
// release of the job's hold.
//
// A job gets its actor when something first needs one: its dispatch to a device, a cancel, or a
// Prefer: wait. Until then a queued job is its stored record and its scheduler ticket, a few
// hundred bytes instead of a few thousand; the job router answers reads of it from the store.
#pragma once

#include "actors/job_context.hpp"
#include "protocol/job.hpp"

#include <caf/fwd.hpp>

#include <memory>

namespace kiln {

/// Spawns the actor for `record`. A queued job is already in the scheduler's queue; one that was
/// processing when the process stopped is queued again; a canceled one whose refund was not
/// written writes it. The router is told `job_done` once the job is terminal and durable.
job_actor spawn_job(caf::actor_system& system, std::shared_ptr<const job_context> context,
                    job record);

}  // namespace kiln
