// Output retention's sweeper (protocol/retention.hpp): once at start-up and every minute it
// reads the front of the output_expiry index up to `now - outputs.retention_days` and has each
// due job's router expire it, one job at a time. It is also the file remover those routers hand
// the job's files to, so it is spawned detached: reads of the store and fsyncs block.
#pragma once

#include "actors/actor_context.hpp"
#include "protocol/directory.hpp"
#include "protocol/retention.hpp"

#include <caf/fwd.hpp>

#include <string>

namespace kiln {

/// Spawns the sweeper of the outputs under `files_dir`, reaching routers through `directory`.
/// With `outputs.retention_days` 0 a sweep expires nothing.
retention_actor spawn_retention(caf::actor_system& system, const actor_context& context,
                                directory_actor directory, std::string files_dir);

}  // namespace kiln
