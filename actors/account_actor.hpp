// The account actor: one per account, owning its credit ledger. It creates the account's jobs
// (hold and job committed together, then the job actor is spawned), settles their holds when they
// end, grants credits, routes reads and cancels to live job actors, and lists jobs and entries.
#pragma once

#include "actors/actor_context.hpp"
#include "models/account.hpp"

#include <caf/fwd.hpp>

#include <vector>

namespace kiln {

struct job;

/// Spawns the actor for `record`. `recovered` are its jobs that were not terminal at the last
/// stop, which get job actors again; `refunds` are canceled jobs whose refund was not yet
/// written, which it writes first.
caf::actor spawn_account(caf::actor_system& system, const actor_context& context, account record,
                         std::vector<job> recovered, std::vector<job> refunds);

}  // namespace kiln
