// Answering with a job as it stands, with its queue_position asked of the scheduler while it is
// queued. Shared by the job actor and the job router (for a queued job without an actor).
#pragma once

#include "protocol/scheduler.hpp"

#include <caf/typed_response_promise.hpp>

#include <chrono>
#include <memory>

namespace kiln::detail {

template <class Self>
void deliver_with_position(Self* self, const scheduler_actor& scheduler,
                           std::chrono::milliseconds timeout, job record,
                           caf::typed_response_promise<job> promise) {
  if (record.status != job_status::queued) {
    promise.deliver(std::move(record));
    return;
  }
  auto shared = std::make_shared<job>(std::move(record));
  self->request(scheduler, timeout, position_atom::value, shared->account_id, shared->id)
    .then(
      [=](std::uint64_t position) mutable {
        if (position > 0) shared->queue_position = position;  // 0: dispatched meanwhile
        promise.deliver(std::move(*shared));
      },
      [=](caf::error&) mutable { promise.deliver(std::move(*shared)); });
}

}  // namespace kiln::detail
