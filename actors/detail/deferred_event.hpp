// An event of the job's timeline that costs no write of its own: stamped when it happens and
// written with the job's next write (`job.started` goes with its run's end, a failed attempt,
// or its cancel), so that a crash before that write leaves no trace of it.
#pragma once

#include "models/job_event.hpp"
#include "persistence/records.hpp"

#include <cstdint>
#include <optional>
#include <string_view>

namespace kiln::detail {

class deferred_event {
public:
  void stamp(job_event event) { event_ = std::move(event); }

  /// Adds the event, if one waits, to `batch`; the token to pass to written() once it lands.
  std::optional<std::uint64_t> put(write_batch& batch, std::string_view job_id) const {
    if (!event_) return std::nullopt;
    records::put_event(batch, job_id, *event_);
    return event_->order;
  }

  /// A batch that carried the event landed (a newer one, stamped since, still waits).
  void written(std::optional<std::uint64_t> token) {
    if (token && event_ && event_->order == *token) event_.reset();
  }

private:
  std::optional<job_event> event_;
};

}  // namespace kiln::detail
