// The account actor: one per account. It creates the account's jobs (commit first, then spawn the
// job actor), routes reads to live job actors or the store, and lists jobs newest first.
// The credit ledger (holds, capture, refunds) grows here.
#pragma once

#include "actors/actor_context.hpp"
#include "models/account.hpp"

#include <caf/fwd.hpp>

#include <vector>

namespace kiln {

struct job;

/// Spawns the actor for `record`; `recovered` are its jobs that were not terminal at the last
/// stop, which get job actors again.
caf::actor spawn_account(caf::actor_system& system, const actor_context& context, account record,
                         std::vector<job> recovered);

}  // namespace kiln
