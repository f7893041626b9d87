// The account actor and its job router: one pair per account. The account actor keeps the credit
// ledger (protocol/account.hpp), the router the account's live jobs (protocol/job.hpp).
#pragma once

#include "actors/actor_context.hpp"
#include "protocol/account.hpp"

#include <caf/fwd.hpp>

#include <cstdint>
#include <vector>

namespace kiln {

/// What an account starts from: its record and where its jobs and ledger stood at the stop.
struct account_start {
  account record;
  std::uint64_t last_job_seq = 0;
  std::uint64_t last_ledger_seq = 0;
  bool has_idempotency_keys = false;  ///< a sweep is due once the first of them expires
  /// Jobs that were queued or processing (they get tickets or actors again), and canceled jobs
  /// whose refund was not yet written (their actors write it first). Both keep their holds.
  std::vector<job> live;
  std::vector<job> refunds;
};

struct account_handles {
  account_actor ledger;
  job_router_actor jobs;
};

/// Spawns the account's ledger and its job router.
account_handles spawn_account(caf::actor_system& system, const actor_context& context,
                              account_start start);

}  // namespace kiln
