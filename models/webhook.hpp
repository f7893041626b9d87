// Webhook deliveries as values: a delivery of one job event to one URL, the outcome of each
// attempt, and the retry policy that decides what happens after an attempt. Pure: no actors,
// no sockets, no clock (times are passed in).
#pragma once

#include "models/job.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kiln {

enum class delivery_status : std::uint8_t { pending, delivered, failed };

std::string_view delivery_status_name(delivery_status status);
std::optional<delivery_status> parse_delivery_status(std::string_view name);

/// One try at sending an event.
struct delivery_attempt {
  std::uint32_t attempt = 0;  ///< 1-based within its delivery
  std::int64_t at_ms = 0;     ///< when the request started
  int status_code = 0;        ///< 0: no HTTP answer (see error)
  std::string error;          ///< "timeout", "connection refused", ...; empty with an answer
  std::int64_t duration_ms = 0;
  std::int64_t next_retry_at_ms = 0;  ///< 0: none (delivered, or given up)
};

/// The terminal event of one job on its way to the job's webhook_url. Written with the job's
/// terminal transition (or by a redeliver), then owned by a delivery actor until it ends.
struct delivery {
  std::string id;        ///< "dlv_..."
  std::string event_id;  ///< "evt_...": the webhook-id, the same on every attempt and redelivery
  std::string event;     ///< "job.succeeded" | "job.failed" | "job.canceled" | "job.processing"...
  std::string job_id;
  std::string account_id;
  std::string url;
  std::string trace_id;
  std::int64_t created_at_ms = 0;  ///< the event's time
  delivery_status status = delivery_status::pending;
  std::int64_t next_attempt_at_ms = 0;  ///< while pending
  std::vector<delivery_attempt> attempts;
  std::uint32_t progress = 0;  ///< "job.progress": the percent the run reached
};

/// "job.succeeded" etc. for a terminal status, "job.processing"; empty for queued.
std::string event_name(job_status status);
/// Whether a job sends an event to its webhook_url on reaching its status: every end, and
/// `processing` (each attempt's start) for the front ends that ask for status changes
/// (MercaDream).
bool sends_event(const job& value);
/// A "job.progress" event when the running `value` passed a quarter (25, 50, 75 %) since
/// `before_percent`, for the front ends that ask for status changes; best effort: sent, not
/// written before its first attempt. nullopt otherwise.
std::optional<delivery> progress_delivery(const job& value, std::uint32_t before_percent,
                                          std::int64_t now_ms);

/// A new pending delivery of `j`'s terminal event, due at once.
delivery new_delivery(const job& j, std::int64_t now_ms);

/// What the retry policy makes of one attempt's outcome.
struct retry_decision {
  delivery_status status = delivery_status::pending;
  std::int64_t delay_ms = 0;  ///< pending: wait this long before the next attempt
};

/// Whether an answer (or its absence, status 0) is worth another attempt: no answer, 408, 429
/// and 5xx are; any other non-2xx fails the delivery at once.
bool is_retryable(int status_code);

/// After attempt number `attempt` (1-based) ended with `status_code`: delivered on 2xx; failed on
/// a status that is not retryable or once `schedule_ms` is used up; otherwise pending, after
/// schedule_ms[attempt - 1] scaled by `jitter` (e.g. 0.9..1.1). The schedule holds the delays of
/// the retries: the first attempt is at once, attempt k is followed by schedule_ms[k - 1], so a
/// schedule of n delays allows n + 1 attempts (the contract's [0, 30 s, 2 min, 10 min, 30 min,
/// 2 h]: once at once, then those, seven attempts). A Retry-After of `retry_after_s` seconds
/// (negative: none) on 429 or 503 replaces the delay, capped at the step after it
/// (schedule_ms[attempt], or the last step).
retry_decision decide_retry(const std::vector<std::uint64_t>& schedule_ms, std::uint32_t attempt,
                            int status_code, std::int64_t retry_after_s, double jitter);

/// Seconds from a Retry-After value: delta-seconds, or an HTTP date relative to `now_ms`;
/// negative when absent or unreadable.
std::int64_t parse_retry_after(std::string_view value, std::int64_t now_ms);

}  // namespace kiln
