// The store writer: the store's group commit as request/response, so an actor writes with
// `request(writer, supervised_wait, commit_atom, batch).then(...)` and continues only once the
// batch is durable. Also takes on-line snapshots.
#pragma once

#include "protocol/store.hpp"

#include <caf/fwd.hpp>

namespace kiln {
class store;
store_writer_actor spawn_store_writer(caf::actor_system& system, store* db);
}  // namespace kiln
