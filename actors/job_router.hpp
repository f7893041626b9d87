// The job router of one account: its registry of live jobs (jobs that have an actor now) and the
// way to them. Dispatches, cancels and reads of a job go to its actor; a job without one is read
// from the store, and gets an actor when it first needs one (its dispatch, a cancel, a wait).
// It supervises its job actors: one that crashes is started again from its stored record.
#pragma once

#include "actors/actor_context.hpp"
#include "protocol/account.hpp"

#include <caf/fwd.hpp>

#include <vector>

namespace kiln {

/// Spawns the router of `owner`'s jobs. `live` are its jobs that were queued or processing at
/// the stop (queued ones get a ticket, the others an actor that queues them again); `refunds`
/// are canceled jobs whose refund was not yet written (each gets an actor that writes it).
job_router_actor spawn_job_router(caf::actor_system& system, const actor_context& context,
                                  account_actor ledger, const account& owner, std::vector<job> live,
                                  std::vector<job> refunds);

}  // namespace kiln
