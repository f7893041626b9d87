// The directory: owns accounts and API keys. It authenticates a key hash to a principal (with the
// account actor's handle), creates accounts and keys, and revokes keys at once.
#pragma once

#include "actors/actor_context.hpp"

#include <caf/fwd.hpp>

namespace kiln {

struct recovered_state;

caf::actor spawn_directory(caf::actor_system& system, const actor_context& context,
                           recovered_state recovered);

}  // namespace kiln
