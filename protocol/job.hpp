// Jobs. While a job runs, is canceled or is waited on it has an actor that owns its state
// machine and writes every transition of its record; a queued job nobody touches has none and
// is its stored record plus a scheduler ticket. Each account's job router knows which of its jobs
// have actors, routes reads, cancels and dispatches to them, and spawns one from the stored
// record when a job first needs it.
#pragma once

#include "protocol/retention.hpp"
#include "protocol/scheduler.hpp"

#include <cstdint>
#include <string>

namespace kiln {

/// What POST /v1/jobs/{id}/cancel answers.
struct cancel_result {
  std::string job_id;
  std::int64_t credits_refunded = 0;
  bool refund_pending = false;  ///< the refund's write failed; it is retried until on disk
};

using job_actor = caf::typed_actor<
  /// (wait ms): the job now; with wait > 0, once it is terminal or the wait ran out.
  caf::replies_to<get_job_atom, std::uint32_t>::with<job>,
  caf::replies_to<cancel_atom>::with<cancel_result>,
  caf::reacts_to<dispatch_atom, job_ticket, std::string, device_actor>,
  caf::reacts_to<progress_atom, std::uint32_t>,
  /// Internal: wait `token` ran out.
  caf::reacts_to<wake_atom, std::uint64_t>,
  /// Internal: retry the write that failed.
  caf::reacts_to<tick_atom>,
  /// The job is terminal and durable, and every read routed to it was answered: stop.
  caf::reacts_to<stop_atom>>;

using job_router_actor = caf::typed_actor<
  /// A queued job got a slot: its actor takes it (spawned from the stored record if need be).
  caf::reacts_to<dispatch_atom, job_ticket, std::string, device_actor>,
  /// (job id, wait ms): as job_actor's get_job; not_found unless the job is this account's.
  caf::replies_to<get_job_atom, std::string, std::uint32_t>::with<job>,
  caf::replies_to<cancel_atom, std::string>::with<cancel_result>,
  /// Sends the job's terminal event to its webhook_url again.
  caf::replies_to<redeliver_atom, std::string>::with<delivery>,
  /// (job id): soft-deletes a finished job (cannot_delete while it runs); the job as deleted.
  caf::replies_to<delete_atom, std::string>::with<job>,
  /// (job id): an admin's restore of a soft-deleted job; the job as restored.
  caf::replies_to<restore_atom, std::string>::with<job>,
  /// (job id, remover): output retention's expiry of a finished job (soft-deleted or not): its
  /// files deleted by `remover`, then its record marked outputs_expired_at; the job as expired.
  /// unavailable while the job runs or another change of it is being written.
  caf::replies_to<expire_atom, std::string, file_remover_actor>::with<job>,
  /// From a job actor: it is terminal and durable.
  caf::reacts_to<job_done_atom, std::string>>;

}  // namespace kiln

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kiln::cancel_result)
