// Upload sessions' actor (protocol/upload.hpp): it owns the sessions' records and files under
// `<data_dir>/uploads/<session id>/`, so every change to a session goes through one mailbox and
// two PUTs into one session never take the same file number. Spawned detached: it fsyncs and
// renames files and reads the store. Once a minute it deletes the files of sessions whose
// expiry plus the kept window is past (docs/decisions.md, "Uploads").
#pragma once

#include "actors/actor_context.hpp"
#include "protocol/upload.hpp"

#include <caf/fwd.hpp>

#include <string>

namespace kiln {

/// Spawns the actor of the sessions whose files live under `uploads_dir`.
upload_actor spawn_uploads(caf::actor_system& system, const actor_context& context,
                           std::string uploads_dir);

}  // namespace kiln
