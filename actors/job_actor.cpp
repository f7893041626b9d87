// Job actor. `current` is always the last durable state: a transition builds the next state,
// commits it, and only then replaces `current`, so GET never shows what a crash could undo.
// Terminal states are written by the account actor, together with the capture or release of the
// job's hold (`settle`); the others are written here through the store writer.
//
// Cancel is two writes: first `canceled` (if that fails, the cancel answers 503 and nothing
// changed), then the release of the hold (if that fails, the cancel answers refund_pending and
// the release is retried until it lands; after a restart the account actor retries it).
#include "actors/job_actor.hpp"

#include "actors/protocol.hpp"
#include "config/settings.hpp"
#include "models/json_writer.hpp"
#include "persistence/records.hpp"
#include "base/logging.hpp"
#include "base/metrics.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <memory>

namespace kiln {
namespace {

struct job_state {
  std::shared_ptr<const job> current;
  std::shared_ptr<const actor_context> context;  ///< shared by all jobs of an account
  caf::actor account;
  caf::actor device;          ///< the device this job was dispatched to, until it is released
  std::string device_id;
  bool running = false;       ///< a run request is out on `device`
  bool dispatch_dropped = false;  ///< a dispatch was turned down while a cancel was written
  bool settling = false;  ///< a terminal state is with the account; it is retried until it lands
  bool quit_on_release = false;  ///< told to stop while a canceled run still held its slot
  std::function<void()> retry;  ///< the write to try again at the next tick
  /// Bumped when a cancel lands: a retry of a transition from before it must not overwrite it.
  std::uint64_t generation = 0;
  /// Cancel in progress: the promise to answer, and what happened meanwhile.
  std::optional<caf::typed_response_promise<cancel_result>> cancel;
  std::optional<caf::expected<run_result>> deferred_result;  ///< a run that ended mid-cancel
  std::vector<std::string> failed_on;  ///< devices where an attempt failed: tried last
  std::uint64_t run_seq = 0;  ///< bumped per run: a late answer of an abandoned run is ignored
  /// GET with Prefer: wait: answered when the job is terminal, or by their wake-up.
  std::vector<std::pair<std::uint64_t, caf::typed_response_promise<job>>> waiters;
  std::uint64_t next_waiter = 0;
  static inline const char* name = "job";
  job_state() { metrics::global().job_actors.fetch_add(1, std::memory_order_relaxed); }
  ~job_state() { metrics::global().job_actors.fetch_sub(1, std::memory_order_relaxed); }
  job_state(const job_state&) = delete;
  job_state& operator=(const job_state&) = delete;
};

using job_self = caf::stateful_actor<job_state>*;
using retry_delay = std::chrono::milliseconds;

void on_run_finished(job_self self, caf::expected<run_result> result);
void send_run(job_self self);
void settle(job_self self, std::shared_ptr<job> next, retry_delay delay = retry_delay(100));

void retry_later(job_self self, retry_delay delay, std::function<void()> action) {
  self->state.retry = std::move(action);
  self->delayed_send(self, delay, tick_atom::value);
}

retry_delay next_delay(retry_delay delay) { return std::min(delay * 2, retry_delay(5000)); }

/// Commits a non-terminal `next` with the event that records it; on success makes it current
/// and calls `then`. A failure is retried with backoff: the state it describes already happened.
void commit(job_self self, std::shared_ptr<job> next, std::function<void()> then, job_event event,
            retry_delay delay = retry_delay(100)) {
  auto batch = records::job_batch(*next, false);
  records::put_event(batch, next->id, event);
  self->request(self->state.context->writer, supervised_wait, commit_atom::value, std::move(batch))
    .then(
      [=](caf::ok_atom) {
        self->state.current = next;
        then();
      },
      [=](caf::error& error) {
        logs::get("actors")->warn(R"("event":"job.commit_failed","job":"{}","error":"{}")",
                                  next->id, logs::json_text(self->system().render(error)));
        auto generation = self->state.generation;
        retry_later(self, delay, [=] {
          if (self->state.generation == generation)
            commit(self, next, then, event, next_delay(delay));
        });
      });
}

void enqueue(job_self self) {
  auto& st = self->state;
  self->send(st.context->scheduler, enqueue_atom::value,
             ticket_for(*st.current, *st.context, st.account, st.failed_on));
}

void finish(job_self self) {
  const auto& j = *self->state.current;
  auto& counters = metrics::global();
  if (j.status == job_status::succeeded) metrics::add(counters.jobs_succeeded);
  else if (j.status == job_status::failed) metrics::add(counters.jobs_failed);
  logs::get("actors")->info(R"("event":"job.{}","job":"{}","trace_id":"{}","attempts":{})",
                            status_name(j.status), j.id, j.trace_id, j.attempts);
  for (auto& [token, waiter] : self->state.waiters) waiter.deliver(j);
  self->state.waiters.clear();
  self->send(self->state.account, job_done_atom::value, j.id);
}

void answer_cancel(job_self self, bool refund_pending) {
  auto& st = self->state;
  if (!st.cancel) return;
  st.cancel->deliver(cancel_result{st.current->id, st.current->credits_held, refund_pending});
  st.cancel.reset();
}

/// Hands the terminal `next` to the account, which writes it with the capture or release of the
/// hold; retried until it lands.
void settle(job_self self, std::shared_ptr<job> next, retry_delay delay) {
  self->state.settling = true;
  self->request(self->state.account, supervised_wait, settle_atom::value, *next)
    .then(
      [=](caf::ok_atom) {
        self->state.current = next;
        answer_cancel(self, false);
        finish(self);
      },
      [=](caf::error& error) {
        logs::get("actors")->warn(R"("event":"job.settle_failed","job":"{}","error":"{}")",
                                  next->id, logs::json_text(self->system().render(error)));
        answer_cancel(self, true);
        retry_later(self, delay, [=] { settle(self, next, next_delay(delay)); });
      });
}

void release_slot(job_self self, bool failed) {
  auto& st = self->state;
  if (st.device) self->demonitor(st.device);
  self->send(st.context->scheduler, release_atom::value, st.device_id, st.current->id, failed);
  st.device = nullptr;
  st.device_id.clear();
  st.running = false;
  if (st.quit_on_release) self->quit();
}

void on_dispatch(job_self self, const std::string& device_id, caf::actor device) {
  auto& st = self->state;
  if (st.cancel || st.current->status != job_status::queued) {  // canceled meanwhile
    self->send(st.context->scheduler, release_atom::value, device_id, st.current->id, false);
    st.dispatch_dropped = st.current->status == job_status::queued;
    return;
  }
  st.device = device;
  st.device_id = device_id;
  auto next = std::make_shared<job>(*st.current);
  next->status = job_status::processing;
  next->device = device_id;
  next->attempts += 1;
  next->progress = 0;
  next->started_at_ms = st.context->clock->now_ms();
  commit(self, next, [=] {
    if (!self->state.cancel) send_run(self);  // else the cancel's first write decides
  }, make_event("job.started", next->started_at_ms, next->trace_id,
                R"({"device":")" + device_id + R"(","attempt":)" + std::to_string(next->attempts) + "}"));
}

void on_run_finished(job_self self, caf::expected<run_result> result);

/// Installed at the first run rather than at spawn: a queued job carries no handler.
void watch_devices(job_self self) {
  self->set_down_handler([=](caf::down_msg& down) {
    auto& s = self->state;
    if (!s.running || !s.device || down.source != s.device.address()) return;
    s.run_seq += 1;  // the run's own answer, if any comes, is void
    on_run_finished(self, make_error(error_code::unavailable,
                                     "device " + s.device_id + " crashed during the run"));
  });
}

/// The model's timeout_seconds (or the context's override): past it, the run counts as a device
/// fault and the job goes back to the queue for another device.
std::chrono::milliseconds run_timeout(job_self self) {
  const auto& st = self->state;
  if (st.context->run_timeout.count() > 0) return st.context->run_timeout;
  const auto* model = st.context->models->find(st.current->spec.model);
  return std::chrono::seconds(model ? model->timeout_seconds : 600);
}

void send_run(job_self self) {
  auto& st = self->state;
  st.running = true;
  const auto& j = *st.current;
  run_request request{j.id, j.spec.type, j.spec.model, j.spec.prompt, j.spec.n,
                      j.spec.params, j.attempts, j.trace_id};
  auto seq = ++st.run_seq;
  if (seq == 1) watch_devices(self);
  self->monitor(st.device);  // a device that dies ends the run
  self->request(st.device, run_timeout(self), run_atom::value, std::move(request))
    .then(
      [=](run_result& result) {
        if (self->state.run_seq == seq) on_run_finished(self, std::move(result));
      },
      [=](caf::error& error) {
        if (self->state.run_seq != seq) return;
        if (error == caf::sec::request_timeout && self->state.device)
          self->send(self->state.device, cancel_atom::value, self->state.current->id);
        on_run_finished(self, std::move(error));
      });
}

void on_run_finished(job_self self, caf::expected<run_result> result) {
  auto& st = self->state;
  if (st.current->status == job_status::canceled) {  // the run stopped because it was canceled
    release_slot(self, false);
    return;
  }
  if (st.cancel) {  // decided once the cancel's first write lands
    st.running = false;
    st.deferred_result = std::move(result);
    return;
  }
  release_slot(self, !result);
  auto next = std::make_shared<job>(*st.current);
  if (result) {
    next->status = job_status::succeeded;
    next->progress = 100;
    next->outputs = std::move(result->outputs);
    next->credits_used = next->credits_held;
    next->completed_at_ms = st.context->clock->now_ms();
    return settle(self, next);
  }
  metrics::add(metrics::global().job_attempts_failed);
  if (std::find(st.failed_on.begin(), st.failed_on.end(), next->device) == st.failed_on.end())
    st.failed_on.push_back(next->device);
  auto reason = self->system().render(result.error());
  logs::get("actors")->warn(R"("event":"job.attempt_failed","job":"{}","attempt":{},"error":"{}")",
                            next->id, next->attempts, logs::json_text(reason));
  if (next->attempts < st.context->config->jobs.max_attempts) {
    json_writer details;
    details.begin_object().field("device", next->device).field("attempt", next->attempts)
      .field("error", reason).end_object();
    next->status = job_status::queued;
    next->device.clear();
    return commit(self, next, [=] { enqueue(self); },
                  make_event("job.attempt_failed", st.context->clock->now_ms(), next->trace_id,
                             details.take()));
  }
  next->status = job_status::failed;
  next->error = job_error{"device_error", "the job failed on " + std::to_string(next->attempts) +
                                            " attempts; last error: " + reason};
  next->credits_refunded = next->credits_held;
  next->completed_at_ms = st.context->clock->now_ms();
  settle(self, next);
}

caf::result<cancel_result> on_cancel(job_self self) {
  auto& st = self->state;
  if (is_terminal(st.current->status) || st.cancel)
    return make_error(error_code::cannot_cancel, "job " + st.current->id + " is already " +
                                                   std::string(status_name(st.current->status)));
  if (st.settling)  // its end is with the account and retried until it lands: too late to cancel
    return make_error(error_code::cannot_cancel, "job " + st.current->id + " is already finishing");
  st.cancel = self->make_response_promise<cancel_result>();
  auto promise = *st.cancel;
  auto next = std::make_shared<job>(*st.current);
  next->status = job_status::canceled;
  next->canceled_at_ms = next->completed_at_ms = st.context->clock->now_ms();
  next->queue_position.reset();
  auto batch = records::job_batch(*next, false);
  records::put_event(batch, next->id, make_event("job.canceled", next->canceled_at_ms, next->trace_id));
  std::optional<delivery> webhook;  // the canceled event, written with the cancel itself
  if (!next->spec.webhook_url.empty()) {
    webhook = new_delivery(*next, next->canceled_at_ms);
    records::put_delivery(batch, *webhook);
  }
  self->request(st.context->writer, supervised_wait, commit_atom::value, std::move(batch))
    .then(
      [=](caf::ok_atom) {
        auto& s = self->state;
        if (webhook) self->send(s.context->deliveries, deliver_atom::value, *webhook);
        s.current = next;
        s.generation += 1;  // a pending retry of an earlier transition is void now
        s.retry = nullptr;
        if (s.running) self->send(s.device, cancel_atom::value, next->id);  // stop it; it answers
        else if (s.device) release_slot(self, false);  // dispatched, but no run is out
        else  // still queued
          self->send(s.context->scheduler, withdraw_atom::value, next->account_id, next->id);
        s.deferred_result.reset();
        auto refunded = std::make_shared<job>(*next);
        refunded->credits_refunded = refunded->credits_held;
        settle(self, refunded);
      },
      [=](caf::error& error) {
        auto& s = self->state;
        s.cancel->deliver(error);  // nothing changed: the job goes on
        s.cancel.reset();
        if (s.deferred_result) {
          auto result = std::move(*s.deferred_result);
          s.deferred_result.reset();
          on_run_finished(self, std::move(result));
        } else if (s.device && !s.running && s.current->status == job_status::processing) {
          send_run(self);  // dispatched while the cancel was being written
        } else if (s.dispatch_dropped) {
          enqueue(self);  // its dispatch was turned down for the cancel: queue it again
        }
        s.dispatch_dropped = false;
      });
  return promise;
}

void deliver_current(job_self self, caf::typed_response_promise<job> promise) {
  deliver_with_position(self, *self->state.context, *self->state.current, std::move(promise));
}

caf::behavior job_actor(job_self self, std::shared_ptr<const actor_context> context, job record,
                        caf::actor account) {
  auto& st = self->state;
  st.context = std::move(context);
  st.account = std::move(account);
  bool lost_run = record.status == job_status::processing;
  if (lost_run) {  // the run was lost with the process: run it again
    record.status = job_status::queued;
    record.device.clear();
  }
  st.current = std::make_shared<const job>(std::move(record));
  if (lost_run) enqueue(self);
  return {
    [=](get_job_atom, std::uint32_t wait_ms) -> caf::result<job> {
      auto& s = self->state;
      if (is_terminal(s.current->status)) return *s.current;
      if (wait_ms == 0) {
        auto promise = self->make_response_promise<job>();
        deliver_current(self, promise);
        return promise;
      }
      auto token = s.next_waiter++;
      s.waiters.emplace_back(token, self->make_response_promise<job>());
      self->delayed_send(self, std::chrono::milliseconds(wait_ms), wake_atom::value, token);
      return s.waiters.back().second;
    },
    [=](wake_atom, std::uint64_t token) {  // a Prefer: wait ran out: answer the job as it is
      auto& s = self->state;
      auto it = std::find_if(s.waiters.begin(), s.waiters.end(),
                             [&](const auto& w) { return w.first == token; });
      if (it == s.waiters.end()) return;
      deliver_current(self, std::move(it->second));
      s.waiters.erase(it);
    },
    [=](progress_atom, std::uint32_t percent) {  // in memory only: the next transition moves on
      auto& s = self->state;
      if (s.current->status != job_status::processing || !s.running) return;
      auto next = std::make_shared<job>(*s.current);
      next->progress = std::min<std::uint32_t>(percent, 99);
      s.current = std::move(next);
    },
    [=](dispatch_atom, const std::string&, const std::string& device_id, caf::actor& device) {
      on_dispatch(self, device_id, std::move(device));
    },
    [=](cancel_atom) { return on_cancel(self); },
    [=](tick_atom) {
      auto retry = std::move(self->state.retry);
      if (retry) retry();
    },
    [=](stop_atom) {  // terminal and durable; a canceled run may still hold its device slot
      if (self->state.device) self->state.quit_on_release = true;  // its answer releases it
      else self->quit();
    },
  };
}

}  // namespace

caf::actor spawn_job(caf::actor_system& system, std::shared_ptr<const actor_context> context,
                     job record, caf::actor account) {
  return system.spawn(job_actor, std::move(context), std::move(record), std::move(account));
}

void deliver_with_position(caf::event_based_actor* self, const actor_context& context,
                           job record, caf::typed_response_promise<job> promise) {
  if (record.status != job_status::queued) {
    promise.deliver(std::move(record));
    return;
  }
  auto shared = std::make_shared<job>(std::move(record));
  self->request(context.scheduler, context.request_timeout, position_atom::value,
                shared->account_id, shared->id)
    .then(
      [=](std::uint64_t position) mutable {
        if (position > 0) shared->queue_position = position;  // 0: dispatched meanwhile
        promise.deliver(std::move(*shared));
      },
      [=](caf::error&) mutable { promise.deliver(std::move(*shared)); });
}

job_ticket ticket_for(const job& record, const actor_context& context, caf::actor account,
                      std::vector<std::string> failed_on) {
  return job_ticket{record.id, record.account_id, record.spec.model, context.max_concurrent_jobs,
                    std::move(account), std::move(failed_on)};
}

}  // namespace kiln
