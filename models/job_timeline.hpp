// A job's timeline (GET /v1/jobs/{id}/events): the events stored with the transitions that can
// happen several times (runs, a cancel, webhook attempts) merged with those the job's record
// states exactly and the hot path need not write (queued and its hold at creation; success or
// failure and the capture or release at the end). Pure: the store reader supplies both.
#pragma once

#include "models/job.hpp"
#include "models/job_event.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace kiln {

/// The details of an event about the job's current attempt (`job.dispatched`, `job.started`,
/// `job.attempt_failed`): `{"device", "attempt"}`, and `"error"` when one is given.
std::string attempt_details(const job& j, std::string_view error = {});

/// The whole timeline of `j`, oldest first; within one millisecond: creation, runs and cancel,
/// the end, then webhooks.
std::vector<job_event> job_timeline(const job& j, std::vector<job_event> stored);

}  // namespace kiln
