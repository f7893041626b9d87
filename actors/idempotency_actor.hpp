// The owner of one (account, Idempotency-Key) pair while its first request is in flight.
//
// The account actor spawns it when a key it has no binding for arrives, writes the first request
// (job and hold, or grant) with the key's binding in one batch, and tells the owner how it ended.
// Requests with the same key that arrive meanwhile are sent to the owner and wait in its mailbox
// as response promises; none of them runs. When the first one is bound, each waiter gets its
// replay (same fingerprint) or 422 (different request). When it failed, the key binds nothing:
// waiters with the same request get the same failure, the others run afresh through the account.
// Either way the owner then tells the account it is done; from then on the binding is read from
// the store.
#pragma once

#include "protocol/account.hpp"

#include <caf/fwd.hpp>

#include <string>

namespace kiln {

idempotency_owner_actor spawn_idempotency_owner(caf::actor_system& system, account_actor account,
                                                std::string key);

}  // namespace kiln
