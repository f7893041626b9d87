// Webhook delivery actors. One actor owns each pending delivery: it renders the event, signs it
// with the account's secrets, sends it through the webhook client, records every attempt's
// outcome durably, and sleeps until the next attempt the retry policy allows. The deliveries
// actor spawns them: for each delivery written with a job's terminal transition, for the pending
// ones found at start-up (which resume at their place in the schedule), and for redeliveries.
#pragma once

#include "actors/actor_context.hpp"

#include <caf/fwd.hpp>

#include <vector>

namespace kiln {

struct delivery;

/// Spawns the deliveries actor. It starts one delivery actor per `pending` delivery, and any
/// delivery it is told of, once it gets (register_atom, public_url): the base of output links
/// in events, known when the server is listening.
caf::actor spawn_deliveries(caf::actor_system& system, const actor_context& context,
                            std::vector<delivery> pending);

/// The pending deliveries in the store, for start-up.
std::vector<delivery> recover_pending_deliveries(const store& db);

}  // namespace kiln
