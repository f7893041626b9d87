// The contract's error table as a type: every expected failure is one of these codes, and each code
// maps to exactly one HTTP status. Actors return them; the HTTP layer renders them.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace kiln {

enum class error_code : std::uint8_t {
  invalid_json = 1,
  invalid_request,
  unauthorized,
  insufficient_credits,
  plan_required,
  not_found,
  method_not_allowed,
  cannot_cancel,
  key_limit,
  payload_too_large,
  unsupported_media_type,
  idempotency_key_reused,
  rate_limited,
  server_error,
  unavailable,
  forbidden,      ///< a tampered or expired file URL (403)
  cannot_delete,  ///< a job not yet finished cannot be soft-deleted (409)
  plan_limit,     ///< the request exceeds a limit of the account's plan (403), e.g. a duration
};

/// An expected failure: the code, a human message and, for invalid_request, the field.
struct api_error {
  error_code code = error_code::server_error;
  std::string message;
  std::string field;  ///< details.field; empty when not about one field
  /// details.outcome: "unknown" when a write failed after reaching the disk (it may have
  /// landed); empty otherwise (nothing was changed).
  std::string outcome;
};

/// The HTTP status for a code (400, 401, 402, ...).
int http_status(error_code code);
/// The snake_case name the contract uses ("invalid_request").
std::string_view error_name(error_code code);

inline api_error make_api_error(error_code code, std::string message, std::string field = {}) {
  return api_error{code, std::move(message), std::move(field), {}};
}

}  // namespace kiln
