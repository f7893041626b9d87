// The job actor: one per live job, owning its state machine queued -> processing -> succeeded |
// failed. Every transition is committed to the store before anyone can observe it.
//
// A job gets its actor when something first needs one: its dispatch to a device, a cancel, or a
// Prefer: wait. Until then a queued job is its stored record and its scheduler ticket, a few
// hundred bytes instead of a few thousand; the account actor answers reads of it from the store.
#pragma once

#include "actors/actor_context.hpp"
#include "actors/protocol.hpp"
#include "models/job.hpp"

#include <caf/fwd.hpp>

#include <memory>
#include <string>
#include <vector>

namespace kiln {

/// Spawns the actor for `record`. A queued job is already in the scheduler's queue; one that was
/// processing when the process stopped is queued again. `account` is told `job_done` once the
/// job is terminal and durable.
caf::actor spawn_job(caf::actor_system& system, std::shared_ptr<const actor_context> context,
                     job record, caf::actor account);

/// Answers `promise` with `record`, with its queue_position (asked of the scheduler by `self`)
/// while it is queued.
void deliver_with_position(caf::event_based_actor* self, const actor_context& context,
                           job record, caf::typed_response_promise<job> promise);

/// The scheduler's ticket for `record`: its dispatch goes to `account`.
job_ticket ticket_for(const job& record, const actor_context& context, caf::actor account,
                      std::vector<std::string> failed_on = {});

}  // namespace kiln
