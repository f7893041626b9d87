// The store writer: turns the store's group commit into request/response, so an actor writes
// with `request(writer, timeout, commit_atom, batch).then(...)` and continues only once durable.
#pragma once

#include <caf/fwd.hpp>

namespace kiln {
class store;
caf::actor spawn_store_writer(caf::actor_system& system, store* db);
}  // namespace kiln
