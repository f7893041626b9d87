// Every message the actors exchange: atoms, payload structs, and the error convention.
// Expected failures travel as caf::error in the "kiln" category whose code is an error_code and
// whose context holds (message, field); `to_api_error` turns any caf::error into the contract's.
#pragma once

#include "models/account.hpp"
#include "models/api_error.hpp"
#include "models/idempotency.hpp"
#include "models/job.hpp"
#include "models/job_event.hpp"
#include "models/ledger.hpp"
#include "models/webhook.hpp"
#include "persistence/store.hpp"

#include <caf/all.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace kiln {

// -- atoms --------------------------------------------------------------------------------------
using auth_atom = caf::atom_constant<caf::atom("auth")>;
using create_account_atom = caf::atom_constant<caf::atom("mkaccount")>;
using get_account_atom = caf::atom_constant<caf::atom("account")>;
using create_key_atom = caf::atom_constant<caf::atom("mkkey")>;
using list_keys_atom = caf::atom_constant<caf::atom("keys")>;
using revoke_key_atom = caf::atom_constant<caf::atom("revokekey")>;
using submit_atom = caf::atom_constant<caf::atom("submit")>;
using get_job_atom = caf::atom_constant<caf::atom("getjob")>;
using list_jobs_atom = caf::atom_constant<caf::atom("listjobs")>;
using estimate_atom = caf::atom_constant<caf::atom("estimate")>;
using job_done_atom = caf::atom_constant<caf::atom("jobdone")>;
using commit_atom = caf::atom_constant<caf::atom("commit")>;
using committed_atom = caf::atom_constant<caf::atom("committed")>;
using enqueue_atom = caf::atom_constant<caf::atom("enqueue")>;
using dispatch_atom = caf::atom_constant<caf::atom("dispatch")>;
using release_atom = caf::atom_constant<caf::atom("release")>;
using run_atom = caf::atom_constant<caf::atom("run")>;
using position_atom = caf::atom_constant<caf::atom("position")>;
using devices_atom = caf::atom_constant<caf::atom("devices")>;
using register_atom = caf::atom_constant<caf::atom("register")>;
using tick_atom = caf::atom_constant<caf::atom("tick")>;
using stop_atom = caf::atom_constant<caf::atom("stop")>;
using settle_atom = caf::atom_constant<caf::atom("settle")>;
using cancel_atom = caf::atom_constant<caf::atom("cancel")>;
using withdraw_atom = caf::atom_constant<caf::atom("withdraw")>;
using balance_atom = caf::atom_constant<caf::atom("balance")>;
using ledger_atom = caf::atom_constant<caf::atom("ledger")>;
using usage_atom = caf::atom_constant<caf::atom("usage")>;
using grant_atom = caf::atom_constant<caf::atom("grant")>;
using stats_atom = caf::atom_constant<caf::atom("stats")>;
using keyed_atom = caf::atom_constant<caf::atom("keyed")>;
using join_atom = caf::atom_constant<caf::atom("join")>;
using bound_atom = caf::atom_constant<caf::atom("bound")>;
using unbound_atom = caf::atom_constant<caf::atom("unbound")>;
using key_done_atom = caf::atom_constant<caf::atom("keydone")>;
using sweep_atom = caf::atom_constant<caf::atom("sweep")>;
using deliver_atom = caf::atom_constant<caf::atom("deliver")>;
using redeliver_atom = caf::atom_constant<caf::atom("redeliver")>;
using attempted_atom = caf::atom_constant<caf::atom("attempted")>;
using deliveries_atom = caf::atom_constant<caf::atom("dlvlist")>;
using secret_atom = caf::atom_constant<caf::atom("secret")>;
using rotate_atom = caf::atom_constant<caf::atom("rotate")>;
using write_atom = caf::atom_constant<caf::atom("write")>;
using progress_atom = caf::atom_constant<caf::atom("progress")>;
using wake_atom = caf::atom_constant<caf::atom("wake")>;
using faults_atom = caf::atom_constant<caf::atom("faults")>;
using events_atom = caf::atom_constant<caf::atom("events")>;
using snapshot_atom = caf::atom_constant<caf::atom("snapshot")>;

// -- payloads -----------------------------------------------------------------------------------

/// Who a request is from, once its key is known.
struct principal {
  std::string account_id;
  std::string key_id;
  std::string plan;
  caf::actor account;  ///< the account actor owning this account's jobs
  /// The key's token bucket after this request: its size (the plan's requests per minute),
  /// whole tokens left, seconds until full, and whether this request found it empty.
  std::uint32_t rate_limit = 0;
  std::uint32_t rate_remaining = 0;
  std::uint32_t rate_reset_s = 0;
  bool rate_limited = false;
  std::uint32_t retry_after_s = 0;  ///< when rate_limited: seconds until one token is back
};

/// What POST /v1/jobs/estimate answers.
struct estimate {
  std::int64_t credits = 0;
  std::int64_t available = 0;
  bool sufficient = false;
};

/// A queued job as the scheduler sees it: small, so 100k of them stay cheap.
struct job_ticket {
  std::string job_id;
  std::string account_id;
  std::string model;
  std::uint32_t max_concurrent_jobs = 0;  ///< the account's plan limit; 0 = none
  /// Told `dispatch` when the job gets a slot: the job's account, which hands it to the job's
  /// actor, spawning that first if the job has none yet.
  caf::actor account;
  std::vector<std::string> failed_on;  ///< devices where an attempt failed: others come first
};

/// The Idempotency-Key a request carries and what the request was; an empty key: none.
struct idempotency_claim {
  std::string key;
  std::string fingerprint;  ///< request_fingerprint of method, path and body
};

/// What POST /v1/jobs answers: the job as created, and whether this answer replays it.
struct submitted {
  job record;
  bool replayed = false;
};

/// A request carrying an Idempotency-Key, as it waits at the key's owner: enough to answer it
/// from the key's binding, or to run it again if the first request failed.
struct keyed_request {
  enum class kind : std::uint8_t { submit, grant } what = kind::submit;
  idempotency_claim claim;
  job_spec spec;         ///< submit
  std::string trace_id;  ///< submit
  std::int64_t amount = 0;  ///< grant
  std::string reason;       ///< grant
};

/// GET /v1/webhook-secret and POST /v1/webhook-secret/rotate.
struct webhook_secret_view {
  std::string secret;
  std::string previous_secret;  ///< during a rotation window: still signs until `previous_until_ms`
  std::int64_t previous_until_ms = 0;
};

/// What POST /v1/jobs/{id}/cancel answers.
struct cancel_result {
  std::string job_id;
  std::int64_t credits_refunded = 0;
  bool refund_pending = false;  ///< the refund's write failed; it is retried until on disk
};

/// A grant as recorded, and whether this answer replays an earlier one (Idempotency-Key).
struct grant_result {
  ledger_entry entry;
  kiln::balance balance;
  bool replayed = false;
};

/// One page of ledger entries, newest first.
struct ledger_page {
  std::vector<ledger_entry> data;
  bool has_more = false;
  std::string next_cursor;
};

/// Captured credits over a period, in total, per model and per UTC day.
struct usage_report {
  std::int64_t from_ms = 0;
  std::int64_t to_ms = 0;
  std::int64_t credits = 0;
  std::uint64_t jobs = 0;
  struct row {
    std::string key;  ///< model id or "YYYY-MM-DD"
    std::int64_t credits = 0;
    std::uint64_t jobs = 0;
  };
  std::vector<row> by_model;
  std::vector<row> by_day;
};

/// What a device needs to run a job.
struct run_request {
  std::string job_id;
  std::string type;
  std::string model;
  std::string prompt;
  std::uint32_t n = 1;
  job_params params;
  std::uint32_t attempt = 1;
  std::string trace_id;
};

struct run_result {
  std::vector<job_output> outputs;
};

/// A device as GET /admin/v1/devices shows it.
struct device_view {
  std::string id;
  std::string executor;
  std::string status = "up";  ///< "up" | "down" (circuit open) | "probing" (one trial job)
  std::uint32_t slots = 0;
  std::uint32_t busy = 0;
  std::vector<std::string> models;
  std::vector<std::string> running;  ///< job ids
  std::uint64_t completed = 0;
  std::uint64_t failed = 0;
  std::uint64_t crashes = 0;               ///< times the device actor died and was restarted
  std::uint32_t consecutive_failures = 0;
  std::int64_t down_until_ms = 0;          ///< while down: when it is probed again
  /// A GPU found through NVML ("devices": "auto"): its identity and latest telemetry.
  std::string gpu_name;
  std::string gpu_uuid;
  std::uint64_t memory_total_bytes = 0;
  std::uint64_t memory_used_bytes = 0;
  std::uint32_t utilization_percent = 0;
};

struct devices_report {
  std::vector<device_view> devices;
  std::uint64_t queued = 0;
};

// -- waiting ----------------------------------------------------------------------------------

/// How internal hops wait on an actor that always answers and whose death ends the process
/// (store writer, directory): without a timer. CAF 0.17 keeps every request timer until it fires
/// (about 130 bytes each); three per submit held about 100 MB at 15k submits/s and fragmented the
/// heap under the jobs. The client-facing request at the bridge keeps its deadline, so a missing
/// answer still becomes a 503, never a hang.
inline const caf::infinite_t supervised_wait = caf::infinite;

// -- errors -------------------------------------------------------------------------------------

/// The category atom of Kiln's expected failures.
constexpr caf::atom_value kiln_error_category = caf::atom("kiln");

inline caf::error make_error(error_code code, std::string message, std::string field = {}) {
  return caf::error(static_cast<std::uint8_t>(code), kiln_error_category,
                    caf::make_message(std::move(message), std::move(field)));
}

/// Kiln errors keep their code; timeouts and dead actors are 503 unavailable; anything else 500.
api_error to_api_error(const caf::error& error);

}  // namespace kiln

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::job)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::job_spec)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::job_page)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::account)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::api_key)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<kiln::api_key>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::account_created)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::key_created)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::principal)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::estimate)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::job_ticket)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::run_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::run_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::devices_report)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::device_view)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::write_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::cancel_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::grant_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::idempotency_claim)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::submitted)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::keyed_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::idempotency_record)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::delivery)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<kiln::delivery>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<kiln::job_event>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::webhook_secret_view)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::ledger_page)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::usage_report)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::balance)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<std::atomic<bool>>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::function<caf::actor()>)
