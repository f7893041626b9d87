// Upload sessions (docs/decisions.md, "Uploads"): a place a client, or a browser page it hands
// the URL to, PUTs input files into before a job uses them. The session, its files as Kiln
// probed them, the token that authorizes the PUTs and the session as the API shows it.
#pragma once

#include "models/job_json.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kiln {

struct upload_file {
  std::uint32_t index = 0;   ///< n in /v1/uploads/{id}/files/{n}, from 0
  std::string name;          ///< the client's name for it (the PUT's `name`)
  std::string file;          ///< stored as uploads/<session id>/<file>: "<index>.<ext>"
  std::string content_type;  ///< what its bytes are (checked against the PUT's Content-Type)
  std::uint64_t bytes = 0;
  std::uint32_t width = 0;  ///< images, when probed
  std::uint32_t height = 0;
  std::int64_t duration_us = 0;  ///< audio, when probed
  bool probed = false;           ///< "probe": "exact" (true) or "none"
  std::int64_t created_at_ms = 0;
};

struct upload_session {
  std::string id;  ///< "upl_..."
  std::string account_id;
  std::string purpose;
  std::uint32_t max_files = 0;
  std::uint64_t max_bytes = 0;  ///< per file
  std::int64_t created_at_ms = 0;
  std::int64_t expires_at_ms = 0;        ///< takes no files from then on
  std::int64_t files_deleted_at_ms = 0;  ///< set by the sweep once its files are gone
  std::vector<upload_file> files;
};

/// The token of a session's upload URL: HMAC of its id and expiry under the node's URL key.
std::string upload_token(const upload_session& session, std::string_view key);
/// Whether `token` is the session's and the session still takes files at `now_ms`.
bool upload_token_valid(const upload_session& session, std::string_view token, std::string_view key,
                        std::int64_t now_ms);
/// "open" while it takes files, "complete" once it is full or expired.
std::string_view upload_status(const upload_session& session, std::int64_t now_ms);
/// "exact" when every file was probed, "pessimistic_fallback" otherwise.
std::string_view billing_readiness(const upload_session& session);
/// The session's files are due for deletion (expiry + the kept window).
bool upload_files_due(const upload_session& session, std::int64_t now_ms);

/// "/v1/uploads/ID/files/N?expires=UNIX&signature=HEX", valid for the file URL lifetime.
std::string signed_upload_file_path(std::string_view session_id, std::uint32_t index,
                                    std::string_view key, std::int64_t now_ms);
/// Whether the (expires, signature) of a file URL are valid for (session id, index).
bool verify_upload_file_signature(std::string_view session_id, std::string_view index,
                                  std::string_view expires, std::string_view signature,
                                  std::string_view key, std::int64_t now_ms);

/// The session as the API shows it: upload_url (absolute, on `urls.base`), token, files with
/// their signed URLs (none once the files are deleted), status and billing readiness.
std::string render_upload(const upload_session& session, const url_context& urls);

}  // namespace kiln
