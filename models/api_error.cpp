// Mapping of error codes to HTTP statuses and names, one table for both directions of use.
#include "models/api_error.hpp"

namespace kiln {
namespace {

struct error_row {
  error_code code;
  int status;
  std::string_view name;
};

constexpr error_row error_table[] = {
  {error_code::invalid_json, 400, "invalid_json"},
  {error_code::invalid_request, 400, "invalid_request"},
  {error_code::unauthorized, 401, "unauthorized"},
  {error_code::insufficient_credits, 402, "insufficient_credits"},
  {error_code::plan_required, 403, "plan_required"},
  {error_code::not_found, 404, "not_found"},
  {error_code::method_not_allowed, 405, "method_not_allowed"},
  {error_code::cannot_cancel, 409, "cannot_cancel"},
  {error_code::key_limit, 409, "key_limit"},
  {error_code::payload_too_large, 413, "payload_too_large"},
  {error_code::unsupported_media_type, 415, "unsupported_media_type"},
  {error_code::idempotency_key_reused, 422, "idempotency_key_reused"},
  {error_code::rate_limited, 429, "rate_limited"},
  {error_code::server_error, 500, "server_error"},
  {error_code::unavailable, 503, "unavailable"},
  {error_code::forbidden, 403, "forbidden"},
  {error_code::cannot_delete, 409, "cannot_delete"},
  {error_code::plan_limit, 403, "plan_limit"},
};

const error_row& row_of(error_code code) {
  for (const auto& row : error_table)
    if (row.code == code) return row;
  return error_table[13];  // server_error
}

}  // namespace

int http_status(error_code code) { return row_of(code).status; }
std::string_view error_name(error_code code) { return row_of(code).name; }

}  // namespace kiln
