// The API's limits: every bound the contract names, each with its unit and what exceeding it does.
// Code uses these constants; operators never change them (tunable settings live in settings.hpp).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace kiln::limits {

constexpr std::size_t KiB = 1024;
constexpr std::size_t MiB = 1024 * KiB;

/// Largest accepted request body; a larger one gets 413 payload_too_large.
constexpr std::size_t request_body_bytes_max = 1 * MiB;
/// Largest accepted header block; a larger one gets 431.
constexpr std::size_t request_header_bytes_max = 16 * KiB;
/// Longest prompt, in characters (code points), unless the model says otherwise; UTF-8 needs at
/// most 4 bytes per character.
constexpr std::size_t prompt_chars_max = 4000;
/// The most a model may allow (text-to-speech scripts).
constexpr std::size_t model_text_chars_max = 10000;
static_assert(model_text_chars_max * 4 < request_body_bytes_max, "a longest text fits in a body");
static_assert(prompt_chars_max * 4 < request_body_bytes_max,
              "a prompt of maximal length must fit in a request body");
/// Most metadata keys on a job; more is 400 invalid_request (field "metadata").
constexpr std::size_t metadata_keys_max = 16;
/// Longest metadata key, in characters.
constexpr std::size_t metadata_key_chars_max = 40;
/// Deepest metadata nesting, the metadata object itself being level 1.
constexpr std::size_t metadata_depth_max = 4;
/// Largest metadata, serialized (minified) in bytes.
constexpr std::size_t metadata_bytes_max = 4 * KiB;
/// Longest webhook_url, in bytes.
constexpr std::size_t webhook_url_bytes_max = 2048;
/// Idempotency key length bounds, in printable ASCII characters.
constexpr std::size_t idempotency_key_bytes_min = 1;
constexpr std::size_t idempotency_key_bytes_max = 255;
/// Outputs per job (`n`).
constexpr std::uint32_t outputs_per_job_min = 1;
constexpr std::uint32_t outputs_per_job_max = 4;
/// Image sides are multiples of this many pixels.
constexpr std::uint32_t image_side_multiple = 32;
/// Largest image area, in pixels (4 MP).
constexpr std::uint64_t image_pixels_max = 4ull * 1024 * 1024;
/// Longest image side, in pixels (the renderer's bound; 4096 x 1024 is still 4 MP).
constexpr std::uint32_t image_side_max = 4096;
/// Default image side when params omit width/height.
constexpr std::uint32_t image_side_default = 512;
/// Longest `Prefer: wait=N`, in seconds.
constexpr std::uint32_t prefer_wait_s_max = 60;
/// Active keys per account; one more is 409 key_limit.
constexpr std::size_t api_keys_active_max = 25;
/// Longest key or account name, in bytes.
constexpr std::size_t name_bytes_max = 200;
/// Page size bounds for list endpoints.
constexpr std::uint32_t page_limit_min = 1;
constexpr std::uint32_t page_limit_max = 100;
constexpr std::uint32_t page_limit_default = 20;
/// The most index keys a listing skips for `offset` (GET /v1/jobs, agent.media's videos): a page
/// costs at most this many key visits more than a cursor page.
constexpr std::uint32_t page_offset_max = 10'000;
/// The longest an account waits between checks of its monthly credits' period (a period's end
/// is checked at once; a clock that jumped is noticed within this).
constexpr std::chrono::milliseconds period_check_max{3'600'000};
/// Largest single grant or starting balance, in credits.
constexpr std::int64_t credits_grant_max = 1'000'000'000'000;
/// Largest price of one job, in credits (a bigger one is refused, never wrapped).
constexpr std::int64_t job_cost_max = credits_grant_max;
/// Injected store read failures one PUT /admin/v1/faults may ask for.
constexpr std::uint32_t store_read_failures_max = 1'000'000;
/// How long a signed file URL stays valid.
constexpr std::chrono::seconds file_url_ttl{3600};
/// Rendered video: frames per second and side lengths of the animated GIF.
constexpr std::uint32_t video_fps = 8;
constexpr std::uint32_t video_width = 320;
constexpr std::uint32_t video_height = 180;

// -- internal bounds and back-offs (not part of the contract) --------------------------------

/// Longest down period of a device whose probe jobs keep failing; the cooldown doubles up to it.
constexpr std::chrono::milliseconds breaker_cooldown_max{60'000};
/// Retries of a durable write that must land (a transition that already happened, a delivery
/// attempt's record): first after this long, doubling up to the maximum.
constexpr std::chrono::milliseconds write_retry_delay_min{100};
constexpr std::chrono::milliseconds write_retry_delay_max{5'000};
static_assert(write_retry_delay_min <= write_retry_delay_max);
/// A model without timeout_seconds: how long a run may take before it counts as a device fault.
constexpr std::chrono::seconds run_timeout_default{600};
/// Last-used times of API keys are written at most this often per key (a lost update costs
/// only a stale last_used_at).
constexpr std::chrono::milliseconds key_last_used_write_interval{60'000};
/// How far into one account's queue a free slot looks for a job its device serves.
constexpr std::size_t scheduler_account_scan_max = 64;
/// Expired idempotency keys deleted in one sweep message, so a backlog never blocks an account.
constexpr std::size_t idempotency_sweep_batch_max = 1000;
/// Sweeps of expired keys are at least this far apart.
constexpr std::chrono::milliseconds idempotency_sweep_interval_min{1000};
/// Groups of credit movements an account may have in flight at once (each built on the one
/// before, and written only if it was).
constexpr std::size_t ledger_groups_in_flight_max = 4;

/// Failed RocksDB Resume() calls after a failed write before the store gives up and the server
/// exits for its supervisor to restart it (storage.resume_interval_ms apart).
constexpr std::uint32_t store_resume_attempts_max = 10;

// -- output retention ---------------------------------------------------------------------------

/// How often output retention sweeps (and once at start-up): a job's files go at most this long
/// after its window ends.
constexpr std::chrono::milliseconds retention_sweep_interval{60'000};
/// Jobs one sweep expires at most, oldest first; the rest wait for the next sweep.
constexpr std::size_t retention_sweep_jobs_max = 1'000;

// -- queries ------------------------------------------------------------------------------------

/// Detached actors answering queries that scan (listings, ledger, usage, timelines).
constexpr std::size_t query_readers = 2;
/// Index entries one listing page may visit (a status filter skips jobs): past it the page ends
/// early with has_more and a cursor where it stopped.
constexpr std::size_t query_scan_keys_max = 10'000;
/// Time one listing page may scan before it ends early the same way.
constexpr std::chrono::milliseconds query_scan_time_max{200};
/// Ledger entries one usage report may read; past it the report is refused (503) rather than
/// holding a reader for long.
constexpr std::size_t usage_entries_max = 2'000'000;
/// Time one usage report may scan before it is refused the same way.
constexpr std::chrono::milliseconds usage_scan_time_max{5'000};

// -- uploads (docs/decisions.md, "Uploads") --
/// Default of `uploads.max_bytes`: the largest file one PUT to an upload session may send; a
/// larger one gets 413 payload_too_large and nothing of it is kept.
constexpr std::uint64_t upload_bytes_max = 512 * MiB;
/// How long an upload session takes files (and its token is valid) after it is created.
constexpr std::chrono::milliseconds upload_session_ttl{3'600'000};
/// How long an expired session's files stay on disk before the sweep deletes them.
constexpr std::chrono::milliseconds upload_files_kept_after_expiry{86'400'000};
/// Files one session takes, at most (`max_files`, default upload_session_files_default).
constexpr std::uint32_t upload_session_files_max = 20;
constexpr std::uint32_t upload_session_files_default = 10;
/// Longest file name a client may give a file (the `name` query parameter), in bytes.
constexpr std::size_t upload_file_name_bytes_max = 255;
/// Longest `purpose` of a session, in bytes.
constexpr std::size_t upload_purpose_bytes_max = 200;
/// Bytes at the start of a stored file that probing reads (magic numbers, image headers, WAV
/// chunks); a header that lies further in is not probed ("probe": "none").
constexpr std::size_t upload_probe_bytes_max = 256 * KiB;
/// How often the upload sweep looks for sessions whose files are due for deletion.
constexpr std::chrono::milliseconds upload_sweep_interval{60'000};
/// Sessions one sweep expires, at most; the rest wait for the next.
constexpr std::size_t upload_sweep_sessions_max = 1'000;
/// How long the front end waits for a PUT to be checked, fsynced and recorded before 503.
constexpr std::chrono::milliseconds upload_store_timeout{120'000};
static_assert(upload_session_files_default <= upload_session_files_max);

}  // namespace kiln::limits
