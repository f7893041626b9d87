// The upload actor (docs/decisions.md, "Uploads"): creates upload sessions, checks and stores
// the files PUT into them, answers reads of them, and sweeps the files of expired sessions. It
// runs detached, because it fsyncs and moves files and reads the store.
#pragma once

#include "models/upload.hpp"
#include "protocol/common.hpp"

#include <cstdint>
#include <string>

namespace kiln {

/// A file the HTTP server streamed to a temporary file, to be checked and moved into a session.
struct upload_part {
  std::string session_id;
  std::string token;          ///< the upload URL's token
  std::string name;           ///< the client's name for the file
  std::string declared_type;  ///< the PUT's Content-Type
  std::string temp_path;      ///< where the body is; moved into the session, or removed
  std::uint64_t bytes = 0;
};

using upload_actor = caf::typed_actor<
  /// (account id, max files, purpose): a new open session, durable once answered.
  caf::replies_to<upload_create_atom, std::string, std::uint32_t,
                  std::string>::with<upload_session>,
  /// (account id, session id): the account's session; not_found for another account's.
  caf::replies_to<upload_get_atom, std::string, std::string>::with<upload_session>,
  /// Checks the token, the file count and the bytes' type, stores the file durably, probes it and
  /// records it on the session: the session as it now is. On any error nothing is kept.
  caf::replies_to<upload_put_atom, upload_part>::with<upload_session>,
  /// Deletes the files of the sessions due (a bounded number per sweep): how many.
  caf::replies_to<sweep_atom>::with<std::uint64_t>,
  /// Internal: the sweep of each minute.
  caf::reacts_to<tick_atom>>;

}  // namespace kiln

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::upload_session)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::upload_part)
