// The directory actor (protocol/directory.hpp): owns accounts and API keys, and spawns each
// account's actors, from the store at start-up and for accounts created later.
#pragma once

#include "actors/actor_context.hpp"
#include "protocol/directory.hpp"

#include <caf/fwd.hpp>

namespace kiln {

struct recovered_state;

directory_actor spawn_directory(caf::actor_system& system, const actor_context& context,
                                recovered_state recovered);

}  // namespace kiln
