// Job actor. `current` is always the last durable state: a transition builds the next state,
// commits it, and only then replaces `current`, so GET never shows what a crash could undo.
#include "actors/job_actor.hpp"

#include "actors/protocol.hpp"
#include "persistence/records.hpp"
#include "runtime/logging.hpp"
#include "runtime/metrics.hpp"

#include <spdlog/spdlog.h>

#include <memory>

namespace kiln {
namespace {

struct job_state {
  std::shared_ptr<const job> current;
  std::shared_ptr<const actor_context> context;  ///< shared by all jobs of an account
  caf::actor account;
  caf::actor device;
  std::function<void()> retry;  ///< the commit to try again at the next tick
  static inline const char* name = "job";
};

using job_self = caf::stateful_actor<job_state>*;

void on_run_finished(job_self self, caf::expected<run_result> result);

/// Commits `next`; on success makes it current and calls `then`. A failed commit of a
/// transition is retried with backoff: the state it describes already happened on the device.
void commit(job_self self, std::shared_ptr<job> next, std::function<void()> then,
            std::chrono::milliseconds retry_delay = std::chrono::milliseconds(100)) {
  auto& st = self->state;
  self->request(st.context->writer, supervised_wait, commit_atom::value,
                records::job_batch(*next, false))
    .then(
      [=](caf::ok_atom) {
        self->state.current = next;
        then();
      },
      [=](caf::error& error) {
        logs::get("actors")->warn(R"("event":"job.commit_failed","job":"{}","error":"{}")",
                                  next->id, logs::json_text(self->system().render(error)));
        auto delay = std::min(retry_delay * 2, std::chrono::milliseconds(5000));
        self->state.retry = [=] { commit(self, next, then, delay); };
        self->delayed_send(self, retry_delay, tick_atom::value);
      });
}

void enqueue(job_self self) {
  auto& st = self->state;
  job_ticket ticket{st.current->id, st.current->spec.model, caf::actor_cast<caf::actor>(self)};
  self->send(st.context->scheduler, enqueue_atom::value, std::move(ticket));
}

void finish(job_self self) {
  const auto& j = *self->state.current;
  auto& counters = metrics::global();
  metrics::add(j.status == job_status::succeeded ? counters.jobs_succeeded : counters.jobs_failed);
  logs::get("actors")->info(R"("event":"job.{}","job":"{}","trace_id":"{}","attempts":{})",
                            status_name(j.status), j.id, j.trace_id, j.attempts);
  self->send(self->state.account, job_done_atom::value, j.id);
}

void on_dispatch(job_self self, const std::string& device_id, caf::actor device) {
  auto& st = self->state;
  auto next = std::make_shared<job>(*st.current);
  next->status = job_status::processing;
  next->device = device_id;
  next->attempts += 1;
  next->progress = 0;
  next->started_at_ms = st.context->clock->now_ms();
  next->queue_position.reset();
  commit(self, next, [=] {
    auto& s = self->state;
    s.device = device;
    const auto& j = *s.current;
    run_request request{j.id, j.spec.type, j.spec.model, j.spec.prompt, j.spec.n,
                        j.spec.params, j.attempts, j.trace_id};
    self->request(device, s.context->run_timeout, run_atom::value, std::move(request))
      .then([=](run_result& result) { on_run_finished(self, std::move(result)); },
            [=](caf::error& error) { on_run_finished(self, std::move(error)); });
  });
}

void on_run_finished(job_self self, caf::expected<run_result> result) {
  auto& st = self->state;
  self->send(st.context->scheduler, release_atom::value, st.current->device, st.current->id,
             !result);
  st.device = nullptr;
  auto next = std::make_shared<job>(*st.current);
  next->queue_position.reset();
  if (result) {
    next->status = job_status::succeeded;
    next->progress = 100;
    next->outputs = std::move(result->outputs);
    next->credits_used = next->credits_held;
    next->completed_at_ms = st.context->clock->now_ms();
    commit(self, next, [=] { finish(self); });
    return;
  }
  metrics::add(metrics::global().job_attempts_failed);
  auto reason = self->system().render(result.error());
  logs::get("actors")->warn(R"("event":"job.attempt_failed","job":"{}","attempt":{},"error":"{}")",
                            next->id, next->attempts, logs::json_text(reason));
  if (next->attempts < st.context->config->jobs.max_attempts) {
    next->status = job_status::queued;
    next->device.clear();
    commit(self, next, [=] { enqueue(self); });
    return;
  }
  next->status = job_status::failed;
  next->error = job_error{"device_error", "the job failed on " + std::to_string(next->attempts) +
                                            " attempts; last error: " + reason};
  next->credits_refunded = next->credits_held;
  next->completed_at_ms = st.context->clock->now_ms();
  commit(self, next, [=] { finish(self); });
}

caf::behavior job_actor(job_self self, std::shared_ptr<const actor_context> context, job record,
                        caf::actor account) {
  auto& st = self->state;
  st.context = std::move(context);
  st.account = std::move(account);
  if (record.status == job_status::processing) {
    record.status = job_status::queued;  // the run was lost with the process: run it again
    record.device.clear();
  }
  st.current = std::make_shared<const job>(std::move(record));
  enqueue(self);
  return {
    [=](get_job_atom) -> caf::result<job> {
      auto& s = self->state;
      if (s.current->status != job_status::queued) return *s.current;
      auto promise = self->make_response_promise<job>();
      self->request(s.context->scheduler, s.context->request_timeout, position_atom::value,
                    s.current->id)
        .then(
          [=](std::uint64_t position) mutable {
            job answer = *self->state.current;
            if (answer.status == job_status::queued) answer.queue_position = position;
            promise.deliver(std::move(answer));
          },
          [=](caf::error&) mutable { promise.deliver(job(*self->state.current)); });
      return promise;
    },
    [=](dispatch_atom, const std::string& device_id, caf::actor& device) {
      on_dispatch(self, device_id, std::move(device));
    },
    [=](tick_atom) {
      auto retry = std::move(self->state.retry);
      if (retry) retry();
    },
    [=](stop_atom) { self->quit(); },
  };
}

}  // namespace

caf::actor spawn_job(caf::actor_system& system, std::shared_ptr<const actor_context> context,
                     job record,
                     caf::actor account) {
  return system.spawn(job_actor, context, std::move(record), std::move(account));
}

}  // namespace kiln
