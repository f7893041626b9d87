// The job actor. A transition builds the next state, commits it, and only then replaces
// `current`, so GET never shows what a crash could undo; `written` is what the store holds (a run
// lost at a stop is queued again in memory only). `enter` asserts every change of phase.
//
// Cancel is two writes: first `canceled` (if that fails, the cancel answers 503 and the job goes
// back to what it was doing), then the release of the hold with the ledger (if that fails, the
// cancel answers refund_pending and the release is retried until it lands). A cancel that comes
// while a transition is being written (`processing` after a dispatch, `queued` after a failed
// attempt) waits for that write: two writes of the job never race, and the canceled record
// carries what the timeline already shows. If that write fails, the cancel answers 503.
//
// The timeline shows only what happened: `job.dispatched` is written with the `processing`
// record; `job.started` is stamped when the run is sent to the device and written with the job's
// next write (its end, a failed attempt or its cancel), costing no write of its own.
#include "actors/job_actor.hpp"

#include "actors/detail/deferred_event.hpp"
#include "actors/detail/job_waiters.hpp"
#include "actors/detail/queue_position.hpp"
#include "actors/detail/written_record.hpp"
#include "actors/job_phase.hpp"
#include "base/assert.hpp"
#include "base/backoff.hpp"
#include "base/logging.hpp"
#include "base/metrics.hpp"
#include "config/limits.hpp"
#include "models/job_timeline.hpp"
#include "persistence/records.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <functional>

namespace kiln {
namespace {

struct job_state {
  std::shared_ptr<const job> current;
  detail::written_record written;              ///< what the next write changes
  std::shared_ptr<const job_context> context;  ///< shared by all jobs of an account
  job_phase phase = job_phase::queued;
  job_phase before_cancel = job_phase::queued;  ///< where a failed cancel returns to
  device_actor device;  ///< the device whose slot this job holds, until it is released
  std::string device_id;
  bool run_out = false;           ///< a run request is out on `device`
  bool dispatch_dropped = false;  ///< a dispatch was turned down while a cancel was written
  bool quit_on_release = false;   ///< told to stop while a canceled run still held its slot
  std::function<void()> retry;    ///< the write to try again at the next tick
  kiln::backoff write_backoff{limits::write_retry_delay_min, limits::write_retry_delay_max};
  std::optional<caf::typed_response_promise<cancel_result>> cancel;  ///< while canceling
  std::optional<caf::expected<run_result>> deferred_result;  ///< a run that ended mid-cancel
  detail::deferred_event started;      ///< `job.started`, written with the job's next write
  std::vector<std::string> failed_on;  ///< devices where an attempt failed: tried last
  std::uint64_t run_seq = 0;    ///< bumped per run: a late answer of an abandoned run is ignored
  detail::job_waiters waiters;  ///< GETs with Prefer: wait
  static inline const char* name = "job";
  job_state() { metrics::global().job_actors.fetch_add(1, std::memory_order_relaxed); }
  ~job_state() { metrics::global().job_actors.fetch_sub(1, std::memory_order_relaxed); }
  job_state(const job_state&) = delete;
  job_state& operator=(const job_state&) = delete;
};

using job_self = job_actor::stateful_pointer<job_state>;

const actor_context& node(job_self self) { return self->state.context->node; }
std::int64_t now(job_self self) { return node(self).clock->now_ms(); }

/// Every change of phase goes through here.
void enter(job_self self, job_phase next) {
  auto& st = self->state;
  KILN_ASSERT_MSG(job_phase_allows(st.phase, next), "job phase transition");
  st.phase = next;
}

void on_run_finished(job_self self, caf::expected<run_result> result);
void send_run(job_self self);
void write_cancel(job_self self);
void settle(job_self self, std::shared_ptr<job> next);

void retry_later(job_self self, std::function<void()> action) {
  self->state.written.failed();
  self->state.retry = std::move(action);
  self->delayed_send(self, self->state.write_backoff.next(), tick_atom::value);
}

/// The writes of the job as `next`: its record (from what is stored), the deferred event, and
/// the event its webhook_url is sent (models/webhook.hpp sends_event) unless `with_webhook` is off.
write_batch job_writes(job_self self, const job& next, std::optional<std::uint64_t>& started,
                       std::optional<delivery>& webhook, bool with_webhook = true) {
  auto batch = records::job_batch(next, self->state.written.base(*node(self).db));
  started = self->state.started.put(batch, next.id);
  if (with_webhook && sends_event(next)) {
    webhook = new_delivery(next, now(self));
    records::put_delivery(batch, *webhook);
  }
  return batch;
}

/// Commits the non-terminal `next` with its event; then makes it current and calls `then` (which
/// starts a cancel that waited). A failure fails such a cancel and is retried with backoff.
void commit(job_self self, std::shared_ptr<job> next, std::function<void()> then, job_event event) {
  std::optional<std::uint64_t> started;
  std::optional<delivery> webhook;  // `processing`, for front ends that ask for it
  auto batch = job_writes(self, *next, started, webhook);
  records::put_event(batch, next->id, event);
  self->request(node(self).writer, supervised_wait, commit_atom::value, std::move(batch))
    .then(
      [=](caf::ok_atom) {
        self->state.write_backoff.reset();
        self->state.current = next;
        self->state.written.landed(next);
        self->state.started.written(started);
        if (webhook) self->send(node(self).deliveries, deliver_atom::value, *webhook);
        then();
      },
      [=](caf::error& error) {
        logs::get("actors")->warn(R"("event":"job.commit_failed","job":"{}","error":"{}")",
                                  next->id, logs::json_text(describe(error)));
        auto& s = self->state;
        if (s.phase == job_phase::canceling) {  // a cancel waited for this write: it fails too
          s.cancel->deliver(error);
          s.cancel.reset();
          enter(self, s.before_cancel);
        }
        retry_later(self, [=] { commit(self, next, then, event); });
      });
}

/// Puts the job in the scheduler's queue; its dispatch goes through the account's router.
void enqueue(job_self self) {
  auto& st = self->state;
  self->send(
    node(self).scheduler, enqueue_atom::value,
    ticket_for(*st.current, st.context->max_concurrent_jobs, st.context->router, st.failed_on));
}

void finish(job_self self) {
  const auto& j = *self->state.current;
  auto& counters = metrics::global();
  if (j.status == job_status::succeeded) metrics::add(counters.jobs_succeeded);
  else if (j.status == job_status::failed) metrics::add(counters.jobs_failed);
  logs::get("actors")->info(R"("event":"job.{}","job":"{}","trace_id":"{}","attempts":{})",
                            status_name(j.status), j.id, j.trace_id, j.attempts);
  self->state.waiters.deliver_all(j);
  enter(self, job_phase::finished);
  self->send(self->state.context->router, job_done_atom::value, j.id);
}

void answer_cancel(job_self self, bool refund_pending) {
  auto& st = self->state;
  if (!st.cancel) return;
  st.cancel->deliver(cancel_result{st.current->id, st.current->credits_held, refund_pending});
  st.cancel.reset();
}

/// Hands the terminal `next` to the ledger to write with its capture or release; retried.
void settle(job_self self, std::shared_ptr<job> next) {
  KILN_ASSERT(self->state.phase == job_phase::settling);
  KILN_ASSERT(is_terminal(next->status));
  std::optional<delivery> webhook;
  std::optional<std::uint64_t> started;
  bool captured = next->status == job_status::succeeded;
  bool partly = captured && next->credits_used < next->credits_held;
  // A canceled job's event was written with its cancel.
  settlement s{next->id, next->spec.model, captured, partly ? next->credits_used : -1,
               job_writes(self, *next, started, webhook, next->status != job_status::canceled)};
  self->request(self->state.context->ledger, supervised_wait, settle_atom::value, std::move(s))
    .then(
      [=](caf::ok_atom) {
        auto& st = self->state;
        st.write_backoff.reset();
        self->state.started.written(started);
        if (webhook) self->send(node(self).deliveries, deliver_atom::value, *webhook);
        st.current = next;
        st.written.landed(next);
        answer_cancel(self, false);
        finish(self);
      },
      [=](caf::error& error) {
        logs::get("actors")->warn(R"("event":"job.settle_failed","job":"{}","error":"{}")",
                                  next->id, logs::json_text(describe(error)));
        answer_cancel(self, true);
        retry_later(self, [=] { settle(self, next); });
      });
}

void release_slot(job_self self, bool failed) {
  auto& st = self->state;
  KILN_ASSERT_MSG(st.device, "only a job holding a slot releases it");
  self->demonitor(st.device.address());
  self->send(node(self).scheduler, release_atom::value, st.device_id, st.current->id, failed);
  st.device = nullptr;
  st.device_id.clear();
  st.run_out = false;
  if (st.quit_on_release) self->quit();
}

void on_dispatch(job_self self, const std::string& device_id, device_actor device) {
  auto& st = self->state;
  if (st.phase != job_phase::queued) {  // canceled meanwhile: the slot goes back
    self->send(node(self).scheduler, release_atom::value, device_id, st.current->id, false);
    st.dispatch_dropped =
      st.phase == job_phase::canceling && st.current->status == job_status::queued;
    return;
  }
  enter(self, job_phase::starting);
  st.device = std::move(device);
  st.device_id = device_id;
  auto next = std::make_shared<job>(*st.current);
  next->status = job_status::processing;
  next->device = device_id;
  next->attempts += 1;
  next->progress = 0;
  next->started_at_ms = now(self);
  commit(
    self, next,
    [=] {
      if (self->state.phase == job_phase::canceling) return write_cancel(self);
      enter(self, job_phase::running);
      send_run(self);
    },
    make_event("job.dispatched", next->started_at_ms, next->trace_id, attempt_details(*next)));
}

/// Installed at the first run rather than at spawn: a queued job carries no handler.
void watch_devices(job_self self) {
  self->set_down_handler([=](caf::down_msg& down) {
    auto& s = self->state;
    if (!s.run_out || !s.device || down.source != s.device.address()) return;
    s.run_seq += 1;  // the run's own answer, if any comes, is void
    on_run_finished(self, make_error(error_code::unavailable,
                                     "device " + s.device_id + " crashed during the run"));
  });
}

void send_run(job_self self) {
  auto& st = self->state;
  KILN_ASSERT(st.phase == job_phase::running && st.device && !st.run_out);
  st.run_out = true;
  const auto& j = *st.current;
  auto request = run_request_for(j, node(self).models->find(j.spec.model));
  request.progress = caf::actor_cast<progress_sink_actor>(self);
  st.started.stamp(make_event("job.started", now(self), j.trace_id, attempt_details(j)));
  auto seq = ++st.run_seq;
  if (seq == 1) watch_devices(self);
  self->monitor(st.device);  // a device that dies ends the run
  self
    ->request(st.device, run_timeout(node(self), j.spec.model), run_atom::value, std::move(request))
    .then(
      [=](run_result& result) {
        if (self->state.run_seq == seq) on_run_finished(self, std::move(result));
      },
      [=](caf::error& error) {
        auto& s = self->state;
        if (s.run_seq != seq) return;
        if (error == caf::sec::request_timeout && s.device)
          self->send(s.device, cancel_atom::value, s.current->id);
        on_run_finished(self, std::move(error));
      });
}

/// A failed attempt: the job goes back to the queue for another device, or fails for good.
void on_attempt_failed(job_self self, std::shared_ptr<job> next, const caf::error& error) {
  auto& st = self->state;
  metrics::add(metrics::global().job_attempts_failed);
  if (std::find(st.failed_on.begin(), st.failed_on.end(), next->device) == st.failed_on.end())
    st.failed_on.push_back(next->device);
  auto reason = describe(error);
  logs::get("actors")->warn(R"("event":"job.attempt_failed","job":"{}","attempt":{},"error":"{}")",
                            next->id, next->attempts, logs::json_text(reason));
  if (next->attempts < node(self).config->jobs.max_attempts) {
    auto details = attempt_details(*next, reason);
    next->status = job_status::queued;
    next->device.clear();
    enter(self, job_phase::requeueing);
    return commit(
      self, next,
      [=] {
        auto& s = self->state;
        enqueue(self);
        if (s.phase != job_phase::canceling) return enter(self, job_phase::queued);
        s.before_cancel = job_phase::queued;  // a cancel waited for this write: now it goes
        write_cancel(self);
      },
      make_event("job.attempt_failed", now(self), next->trace_id, std::move(details)));
  }
  next->status = job_status::failed;
  next->error = job_error{"device_error", "the job failed on " + std::to_string(next->attempts) +
                                            " attempts; last error: " + reason};
  next->credits_refunded = next->credits_held;
  next->completed_at_ms = now(self);
  enter(self, job_phase::settling);
  settle(self, next);
}

void on_run_finished(job_self self, caf::expected<run_result> result) {
  auto& st = self->state;
  if (st.current->status == job_status::canceled) {  // the run stopped because it was canceled
    release_slot(self, false);
    return;
  }
  if (st.phase == job_phase::canceling) {  // decided once the cancel's first write lands
    st.run_out = false;
    st.deferred_result = std::move(result);
    return;
  }
  KILN_ASSERT(st.phase == job_phase::running);
  release_slot(self, !result);
  auto next = std::make_shared<job>(*st.current);
  if (!result) return on_attempt_failed(self, next, result.error());
  next->status = job_status::succeeded;
  next->progress = 100;
  next->outputs = std::move(result->outputs);
  // A run that reports using less than was held pays that; the rest goes back.
  auto used = result->credits_used;
  next->credits_used = used >= 0 && used < next->credits_held ? used : next->credits_held;
  next->credits_refunded = next->credits_held - next->credits_used;
  next->completed_at_ms = now(self);
  enter(self, job_phase::settling);
  settle(self, next);
}

/// The cancel's write landed: stop what runs, free what is held, and release the hold.
void on_canceled(job_self self, std::shared_ptr<job> next, const std::optional<delivery>& hook) {
  auto& s = self->state;
  if (hook) self->send(node(self).deliveries, deliver_atom::value, *hook);
  s.current = next;
  s.written.landed(next);
  if (s.run_out) self->send(s.device, cancel_atom::value, next->id);  // it answers; then release
  else if (s.device) release_slot(self, false);  // dispatched, but no run is out
  else self->send(node(self).scheduler, withdraw_atom::value, next->account_id, next->id);
  s.deferred_result.reset();
  auto refunded = std::make_shared<job>(*next);
  refunded->credits_refunded = refunded->credits_held;
  enter(self, job_phase::settling);
  settle(self, refunded);
}

/// The cancel's write failed: nothing changed, and the job goes on from where it got to.
void on_cancel_failed(job_self self, const caf::error& error) {
  auto& s = self->state;
  s.written.failed();
  s.cancel->deliver(error);
  s.cancel.reset();
  bool dropped = std::exchange(s.dispatch_dropped, false);
  if (s.deferred_result) {  // its run ended during the write
    auto result = std::move(*s.deferred_result);
    s.deferred_result.reset();
    enter(self, job_phase::running);
    on_run_finished(self, std::move(result));
  } else if (s.before_cancel == job_phase::starting) {  // the cancel waited for `processing`
    KILN_ASSERT(s.device && !s.run_out && s.current->status == job_status::processing);
    enter(self, job_phase::running);
    send_run(self);
  } else if (dropped) {
    enter(self, job_phase::queued);  // its dispatch was turned down for the cancel
    enqueue(self);
  } else {
    enter(self, s.before_cancel);
  }
}

caf::result<cancel_result> on_cancel(job_self self) {
  auto& st = self->state;
  if (is_terminal(st.current->status))
    return make_error(error_code::cannot_cancel, "job " + st.current->id + " is already " +
                                                   std::string(status_name(st.current->status)));
  if (st.phase == job_phase::canceling)
    return make_error(error_code::cannot_cancel,
                      "job " + st.current->id + " is already being canceled");
  if (st.phase == job_phase::settling)  // its end is with the ledger and retried until it lands
    return make_error(error_code::cannot_cancel, "job " + st.current->id + " is already finishing");
  st.before_cancel = st.phase;
  enter(self, job_phase::canceling);
  st.cancel = self->make_response_promise<cancel_result>();
  auto promise = *st.cancel;
  // A transition being written goes first; its `then` starts the cancel's write.
  bool waits = st.before_cancel == job_phase::starting || st.before_cancel == job_phase::requeueing;
  if (!waits) write_cancel(self);
  return promise;
}

/// The cancel's first write: the canceled record, its event, and its webhook delivery.
void write_cancel(job_self self) {
  auto& st = self->state;
  KILN_ASSERT(st.phase == job_phase::canceling && st.cancel);
  auto next = std::make_shared<job>(*st.current);
  next->status = job_status::canceled;
  next->canceled_at_ms = next->completed_at_ms = now(self);
  next->queue_position.reset();
  std::optional<std::uint64_t> started;
  std::optional<delivery> webhook;  // the canceled event, written with the cancel itself
  auto batch = job_writes(self, *next, started, webhook);
  records::put_event(batch, next->id,
                     make_event("job.canceled", next->canceled_at_ms, next->trace_id));
  self->request(node(self).writer, supervised_wait, commit_atom::value, std::move(batch))
    .then(
      [=](caf::ok_atom) {
        self->state.started.written(started);
        on_canceled(self, next, webhook);
      },
      [=](caf::error& error) { on_cancel_failed(self, error); });
}

void deliver_current(job_self self, caf::typed_response_promise<job> promise) {
  detail::deliver_with_position(self, node(self).scheduler, node(self).request_timeout,
                                *self->state.current, std::move(promise));
}

caf::result<job> on_get(job_self self, std::uint32_t wait_ms) {
  auto& s = self->state;
  if (is_terminal(s.current->status)) return *s.current;
  auto promise = self->make_response_promise<job>();
  if (wait_ms == 0) {
    deliver_current(self, promise);
    return promise;
  }
  auto token = s.waiters.add(promise);
  self->delayed_send(self, std::chrono::milliseconds(wait_ms), wake_atom::value, token);
  return promise;
}

/// A Prefer: wait ran out: answer the job as it is.
void on_wake(job_self self, std::uint64_t token) {
  if (auto waiter = self->state.waiters.take(token)) deliver_current(self, std::move(*waiter));
}

/// In memory only: the next transition moves on. Progress never goes back within a run.
void on_progress(job_self self, std::uint32_t percent) {
  auto& s = self->state;
  if (s.current->status != job_status::processing || !s.run_out) return;
  if (percent <= s.current->progress) return;
  auto next = std::make_shared<job>(*s.current);
  next->progress = std::min<std::uint32_t>(percent, 99);
  if (node(self).config->frontends.mercadream.progress_webhooks)
    if (auto d = progress_delivery(*next, s.current->progress, now(self)))
      self->send(node(self).deliveries, deliver_atom::value, std::move(*d));
  s.current = std::move(next);
}

/// Terminal and durable; a canceled run may still hold its device slot.
void on_stop(job_self self) {
  KILN_ASSERT(self->state.phase == job_phase::finished);
  if (self->state.device) self->state.quit_on_release = true;  // its answer releases it
  else self->quit();
}

job_actor::behavior_type job_behavior(job_self self, std::shared_ptr<const job_context> context,
                                      job record) {
  auto& st = self->state;
  st.context = std::move(context);
  bool lost_run = record.status == job_status::processing;
  st.written.landed(std::make_shared<const job>(record));
  if (lost_run) {  // the run was lost with the process: run it again
    record.status = job_status::queued;
    record.device.clear();
  }
  bool unrefunded = record.status == job_status::canceled && record.credits_refunded == 0;
  st.current = std::make_shared<const job>(std::move(record));
  if (lost_run) enqueue(self);
  if (unrefunded) {  // canceled before the stop, its refund not yet written: write it
    st.phase = job_phase::settling;
    auto refunded = std::make_shared<job>(*st.current);
    refunded->credits_refunded = refunded->credits_held;
    settle(self, refunded);
  }
  return {
    [=](get_job_atom, std::uint32_t wait_ms) { return on_get(self, wait_ms); },
    [=](cancel_atom) { return on_cancel(self); },
    [=](dispatch_atom, const job_ticket&, const std::string& device_id, device_actor& device) {
      on_dispatch(self, device_id, std::move(device));
    },
    [=](progress_atom, std::uint32_t percent) { on_progress(self, percent); },
    [=](wake_atom, std::uint64_t token) { on_wake(self, token); },
    [=](tick_atom) {
      if (auto retry = std::exchange(self->state.retry, nullptr)) retry();
    },
    [=](stop_atom) { on_stop(self); },
  };
}

}  // namespace

job_actor spawn_job(caf::actor_system& system, std::shared_ptr<const job_context> context,
                    job record) {
  return system.spawn(job_behavior, std::move(context), std::move(record));
}

}  // namespace kiln
