// A job's timeline as values: one event per thing that happened to it (queued, hold placed,
// started on a device, an attempt failed, finished, hold captured or released, a webhook
// attempt), each written in the same batch as the change it describes.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace kiln {

struct job_event {
  std::int64_t at_ms = 0;
  std::string type;  ///< "job.queued", "hold.placed", "job.started", ...
  std::string trace_id;
  std::string details_json;  ///< a JSON object, "{}" when there is nothing to add
  std::uint64_t order = 0;   ///< breaks ties between events of the same millisecond
};

/// An event stamped with a process-wide increasing order.
inline job_event make_event(std::string type, std::int64_t at_ms, std::string trace_id,
                            std::string details_json = "{}") {
  static std::atomic<std::uint64_t> next_order{1};
  return job_event{at_ms, std::move(type), std::move(trace_id), std::move(details_json),
                   next_order.fetch_add(1, std::memory_order_relaxed)};
}

}  // namespace kiln
