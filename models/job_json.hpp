// The job as the contract shows it, and the signed URLs of its output files. Used by the HTTP
// front end (answers) and by webhook deliveries (event bodies), so both show the same job.
#pragma once

#include "models/job.hpp"
#include "models/webhook.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace kiln {

class json_writer;

/// Where output URLs point: "http://HOST" (from the request's Host, or the public URL) and the
/// key that signs them.
struct url_context {
  std::string base;
  std::string_view signing_key;
  std::int64_t now_ms = 0;
};

namespace json {
/// Writes the job object of the contract.
void write_job(json_writer& w, const job& v, const url_context& urls);
}  // namespace json

std::string render_job(const job& value, const url_context& urls);
std::string render_job_page(const job_page& page, const url_context& urls);
/// A webhook event body: {"id": event id, "event", "created_at", "job": the job}.
std::string render_webhook_event(const delivery& d, const job& value, const url_context& urls);

/// "/v1/files/NAME?expires=UNIX&signature=HEX" valid until now + the file URL lifetime.
std::string signed_file_path(std::string_view file, std::string_view key, std::int64_t now_ms);
/// True if `signature` is the HMAC of (file, expires) under `key` and `expires` is not past.
bool verify_file_signature(std::string_view file, std::string_view expires,
                           std::string_view signature, std::string_view key, std::int64_t now_ms);

}  // namespace kiln
