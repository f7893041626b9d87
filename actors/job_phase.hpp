// The job actor's state machine, written down. The job's stored status (queued, processing,
// succeeded, failed, canceled) says what happened; the phase says what the actor is doing about
// it right now, and every change of phase goes through `job_phase_allows`, asserted in one place.
//
//   queued ──dispatch──> starting ──processing written──> running ──run ok──────> settling
//     ^                     │                               │  └──run failed──> requeueing ─┐
//     └─────────────────────┼───────────────────────────────┼──────queued written──────────┘
//   any of queued, starting, running, requeueing ──cancel──> canceling ──written──> settling
//   canceling ──write failed──> back to what it was doing (queued, starting, running, ...)
//   settling ──capture or release written──> finished
//
// A recovered canceled job whose refund was not written starts in `settling`.
#pragma once

#include <cstdint>
#include <string_view>

namespace kiln {

enum class job_phase : std::uint8_t {
  queued,      ///< waiting in the scheduler's queue
  starting,    ///< has a device slot; its `processing` record is being written
  running,     ///< its run is out on the device
  requeueing,  ///< an attempt failed; its `queued` record is being written
  canceling,   ///< its `canceled` record is being written
  settling,    ///< its terminal record and the capture or release are with the ledger
  finished,    ///< terminal and durable; it may still wait for a canceled run's slot
};

std::string_view job_phase_name(job_phase phase);

/// Whether the job actor may move from `from` to `to`.
bool job_phase_allows(job_phase from, job_phase to);

}  // namespace kiln
