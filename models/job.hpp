// The job as a value: what was asked for, where it is in its life, and what it produced.
// Job actors own one of these each; persistence encodes it; the HTTP layer renders it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace kiln {

enum class job_status : std::uint8_t { queued, processing, succeeded, failed, canceled };

std::string_view status_name(job_status status);
std::optional<job_status> parse_status(std::string_view name);
/// A status as a client may ask for it in a filter: also "cancelled" and "completed".
std::optional<job_status> parse_status_filter(std::string_view name);
inline bool is_terminal(job_status s) {
  return s == job_status::succeeded || s == job_status::failed || s == job_status::canceled;
}

/// Resolved generation parameters: defaults filled in, a seed always present.
struct job_params {
  std::uint32_t width = 0;             ///< images only
  std::uint32_t height = 0;            ///< images only
  std::uint32_t duration_seconds = 0;  ///< video, and audio made to a length
  std::uint64_t seed = 0;
};

/// Where a job came from when a front end (a dialect of another product's API) made it; empty for
/// the core API. Set by the front end, never read from the wire; rendering the job in its
/// dialect is a function of the stored job and this.
struct job_origin {
  std::string frontend;        ///< "killa", ...
  std::string task;            ///< the front end's name for what was asked ("image.generate")
  std::string webhook_format;  ///< how its webhook body is written; empty: Kiln's own
  std::string input;           ///< the front end's input as it took it (a JSON object)
  std::string adjustments;     ///< what Kiln changed or ignored in it (a JSON array)
  std::int64_t credit_usd_micros = 0;  ///< money shown in USD: micro-USD per credit at submit
};

/// One input file of a job (docs/decisions.md, "Job inputs"): a file of an upload session of the
/// job's account, with what Kiln probed of it when the job was submitted.
struct job_input {
  std::string role;  ///< "source_image", "start_frame", "reference_audio", ...
  std::string upload_id;
  std::uint32_t file = 0;  ///< the file's number in the session
  std::string content_type;
  std::uint64_t bytes = 0;
  std::uint32_t width = 0;  ///< images, when probed; 0 otherwise
  std::uint32_t height = 0;
  std::int64_t duration_us = 0;  ///< audio and video, when probed; 0 otherwise
};

/// What a client asked for, validated against the catalog (see job_request.hpp).
struct job_spec {
  std::string type;  ///< "image" | "video" | "audio" | "json" | "3d"
  std::string model;
  std::string prompt;
  std::uint32_t n = 1;
  job_params params;
  /// The client's metadata object as minified JSON, keys in the client's order; empty when none.
  std::string metadata;
  std::string webhook_url;
  /// The model's options as the job runs with them (every declared one, defaults applied), as
  /// minified JSON; empty for a model without options (and in records older than options).
  std::string options;
  std::int64_t cost = 0;  ///< credits, by the model's price formula (models/pricing.hpp)
  job_origin origin;
  /// Input media, as the body named them; parse_job_request fills role, upload_id and file, and
  /// the submit path the rest from the upload sessions (resolve_job_input).
  std::vector<job_input> inputs;
  /// False for a job made with a test key (never read from the wire): it holds no credits,
  /// runs on simulator devices only and is shown `livemode: false` (docs/decisions.md).
  bool livemode = true;
};

/// One produced file, stored under the data directory's files/ folder.
struct job_output {
  std::string file;  ///< file name, e.g. "job_01...-0.png"
  std::string content_type;
  std::uint64_t bytes = 0;
  std::string role = "primary";  ///< "primary", "thumbnail", ...
  std::uint32_t width = 0;       ///< images and video; 0 where it does not apply
  std::uint32_t height = 0;
  std::uint32_t duration_ms = 0;  ///< video and audio; 0 where it does not apply
};

struct job_error {
  std::string code;  ///< e.g. "device_error"
  std::string message;
};

struct job {
  std::string id;
  std::string account_id;
  std::uint64_t seq = 0;  ///< per-account creation order; the listing index key
  job_spec spec;
  job_status status = job_status::queued;
  std::uint32_t progress = 0;  ///< 0..100
  std::int64_t credits_held = 0;
  std::int64_t credits_held_monthly = 0;  ///< of credits_held, the plan's monthly credits
  std::int64_t credits_used = 0;
  std::int64_t credits_refunded = 0;
  std::string device;
  std::uint32_t attempts = 0;
  std::vector<job_output> outputs;
  std::optional<job_error> error;
  std::string trace_id;
  std::int64_t created_at_ms = 0;
  std::int64_t started_at_ms = 0;    ///< 0 = not yet
  std::int64_t completed_at_ms = 0;  ///< 0 = not yet
  std::int64_t canceled_at_ms = 0;   ///< 0 = not yet
  /// Soft-deleted (a terminal job only): hidden from its account's reads and lists until an
  /// admin restores it; its hold, capture and files are untouched. 0 = not deleted.
  std::int64_t deleted_at_ms = 0;
  /// When output retention deleted the job's files (a succeeded job only): its outputs are
  /// listed without URLs from then on (docs/decisions.md, "Output retention"). 0 = kept.
  std::int64_t outputs_expired_at_ms = 0;
  std::optional<std::uint64_t> queue_position;  ///< live only, never stored
};

/// One page of a job listing.
struct job_page {
  std::vector<job> data;
  bool has_more = false;
  std::string next_cursor;
  std::uint64_t total = 0;  ///< jobs the listing has in all (its status, if filtered)
};

}  // namespace kiln
