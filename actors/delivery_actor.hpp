// Webhook delivery actors (protocol/deliveries.hpp). One actor owns each pending delivery: it
// renders the event, signs it with the account's secrets, sends it through the outbound client,
// records every attempt's outcome durably, and sleeps until the next attempt the retry policy
// allows. The deliveries actor spawns them: for each delivery written with a job's terminal
// transition, for the pending ones found at start-up (which resume at their place in the
// schedule), and for redeliveries.
#pragma once

#include "actors/actor_context.hpp"
#include "protocol/deliveries.hpp"

#include <caf/fwd.hpp>

#include <vector>

namespace kiln {

/// Spawns the deliveries actor. It starts one delivery actor per `pending` delivery, and any
/// delivery it is told of, once it gets (register_atom, public_url): the base of output links
/// in events, known when the server is listening.
deliveries_actor spawn_deliveries(caf::actor_system& system, const actor_context& context,
                                  std::vector<delivery> pending);

}  // namespace kiln
