// Store readers: detached actors, each on its own thread, that answer the queries which scan
// (protocol/store.hpp). They only read, so any number can run beside the writers; every scan is
// bounded in keys and time (config/limits.hpp), so no query holds a reader for long either.
#pragma once

#include "base/clock.hpp"
#include "protocol/store.hpp"

#include <caf/fwd.hpp>

#include <vector>

namespace kiln {

class store;

/// Spawns `count` readers over `db`.
std::vector<store_reader_actor> spawn_store_readers(caf::actor_system& system, const store* db,
                                                    clock_ptr clock, std::size_t count);

}  // namespace kiln
