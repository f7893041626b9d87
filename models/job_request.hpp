// Parsing and validation of the body of POST /v1/jobs (and /v1/jobs/estimate) into a job_spec.
// Pure: takes the bytes, the catalog and a seed to use when the client gives none.
#pragma once

#include "models/catalog.hpp"
#include "models/error.hpp"
#include "models/job.hpp"

#include <string>
#include <string_view>

namespace kiln {

/// A valid spec (cost computed), or the contract's error (invalid_json, invalid_request naming
/// the offending field).
caf::expected<job_spec> parse_job_request(std::string_view body, const catalog& models,
                                          std::uint64_t default_seed);

/// Number of Unicode code points in valid UTF-8 text.
std::size_t utf8_length(std::string_view text);
/// An absolute http:// or https:// URL with a host and no spaces or control characters.
bool is_valid_webhook_url(std::string_view url);

}  // namespace kiln
