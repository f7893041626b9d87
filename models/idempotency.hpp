// Idempotency keys as values: what a key is bound to (the request's fingerprint and the answer it
// got), and the fingerprint itself: the method, the path and the body's JSON value, so a retry
// that only reorders keys or changes white space is the same request.
#pragma once

#include "models/job.hpp"
#include "models/ledger.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace kiln {

/// What an (account, key) pair is bound to once its first request succeeded.
struct idempotency_record {
  std::string fingerprint;  ///< of the request that bound the key
  std::int64_t expires_at_ms = 0;
  std::optional<job> created;           ///< POST /v1/jobs: the job as first answered
  std::optional<ledger_entry> granted;  ///< admin grant: the entry as first answered
};

/// `body` re-encoded with object keys sorted and no white space; nullopt if it is not JSON.
/// Numbers keep their value: integers print as integers, other numbers in shortest round-trip
/// form, so `1.50` and `1.5` are one value.
std::optional<std::string> canonical_json(std::string_view body);

/// Lowercase hex SHA-256 of "METHOD PATH\n" + the canonical body (the raw body if not JSON).
std::string request_fingerprint(std::string_view method, std::string_view path,
                                std::string_view body);

/// Whether `key` is a valid Idempotency-Key: 1..255 printable ASCII characters.
bool valid_idempotency_key(std::string_view key);

}  // namespace kiln
