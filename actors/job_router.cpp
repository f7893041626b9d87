// The job router of one account; see the header.
#include "actors/job_router.hpp"

#include "actors/detail/queue_position.hpp"
#include "actors/job_actor.hpp"
#include "actors/job_context.hpp"
#include "base/assert.hpp"
#include "base/logging.hpp"
#include "config/limits.hpp"
#include "models/job_event.hpp"
#include "persistence/output_expiry.hpp"
#include "persistence/records.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <spdlog/spdlog.h>

#include <unordered_map>
#include <unordered_set>

namespace kiln {
namespace {

struct router_state {
  std::shared_ptr<const job_context> jobs;  ///< handed to every job actor of the account
  std::string account_id;
  /// Jobs that have an actor now: from their dispatch, cancel or Prefer: wait to their end.
  std::unordered_map<std::string, job_actor> live;
  /// Jobs whose soft delete or restore is being written (one change at a time per job).
  std::unordered_set<std::string> changing;
  static inline const char* name = "job_router";
};

using router_self = job_router_actor::stateful_pointer<router_state>;

const actor_context& node(router_self self) { return self->state.jobs->node; }

job_actor start_job(router_self self, job record) {
  auto& st = self->state;
  auto id = record.id;
  auto actor = spawn_job(self->system(), st.jobs, std::move(record));
  self->monitor(actor);
  st.live[id] = actor;
  return actor;
}

/// The job's actor, or null while it has none.
job_actor live_actor(router_self self, const std::string& job_id) {
  auto it = self->state.live.find(job_id);
  return it == self->state.live.end() ? job_actor{} : it->second;
}

/// The job's stored record if it is this account's (and not soft-deleted, unless `deleted` too);
/// nullopt if there is none; an error when the store could not be read (503: the caller may
/// retry) or the record does not decode.
caf::expected<std::optional<job>> stored_job(router_self self, const std::string& job_id,
                                             bool deleted = false) {
  auto bytes = node(self).db->get(column::jobs, job_id);
  if (!bytes) return bytes.error();
  if (!*bytes) return std::optional<job>{};
  auto record = records::decode_job(**bytes);
  if (!record) {
    logs::get("actors")->error(R"("event":"job.undecodable","job":"{}")", job_id);
    return make_error(error_code::server_error, "the job's record does not decode");
  }
  if (record->account_id != self->state.account_id) return std::optional<job>{};
  if (record->deleted_at_ms != 0 && !deleted) return std::optional<job>{};
  return record;
}

caf::error no_job(const std::string& job_id) {
  return make_error(error_code::not_found, "no job " + job_id);
}

/// A queued job got a slot: its actor takes it, spawned from the stored record if need be.
void on_dispatch(router_self self, job_ticket& ticket, const std::string& device_id,
                 device_actor& device) {
  const auto& scheduler = node(self).scheduler;
  auto actor = live_actor(self, ticket.job_id);
  if (!actor) {
    auto stored = stored_job(self, ticket.job_id);
    if (!stored) {  // the store failed: free the slot, queue the job again a little later
      logs::get("actors")->warn(R"("event":"job.dispatch_read_failed","job":"{}","error":"{}")",
                                ticket.job_id, logs::json_text(describe(stored.error())));
      self->send(scheduler, release_atom::value, device_id, ticket.job_id, false);
      self->delayed_send(scheduler, limits::write_retry_delay_max, enqueue_atom::value,
                         std::move(ticket));
      return;
    }
    if (!*stored || is_terminal((*stored)->status)) {  // it ended meanwhile (a cancel)
      self->send(scheduler, release_atom::value, device_id, ticket.job_id, false);
      return;
    }
    actor = start_job(self, std::move(**stored));
  }
  self->send(actor, dispatch_atom::value, std::move(ticket), device_id, std::move(device));
}

/// `wait_ms` > 0: Prefer: wait, held by the job's actor until it ends or the wait runs out.
// A response promise takes the request over: make one only on a path that answers through it,
// never before a path that returns an error directly.
caf::result<job> on_get(router_self self, const std::string& job_id, std::uint32_t wait_ms) {
  if (auto actor = live_actor(self, job_id))
    return self->make_response_promise<job>().delegate(actor, get_job_atom::value, wait_ms);
  auto stored = stored_job(self, job_id);
  if (!stored) return stored.error();
  if (!*stored) return no_job(job_id);
  auto promise = self->make_response_promise<job>();
  if (wait_ms > 0 && !is_terminal((*stored)->status))
    return promise.delegate(start_job(self, std::move(**stored)), get_job_atom::value, wait_ms);
  detail::deliver_with_position(self, node(self).scheduler, node(self).request_timeout,
                                std::move(**stored), promise);
  return promise;
}

/// A queued job without an actor gets one, which writes the cancel.
caf::result<cancel_result> on_cancel(router_self self, const std::string& job_id) {
  auto actor = live_actor(self, job_id);
  if (!actor) {
    auto stored = stored_job(self, job_id);
    if (!stored) return stored.error();
    if (!*stored) return no_job(job_id);
    if (is_terminal((*stored)->status))
      return make_error(error_code::cannot_cancel, "job " + job_id + " is already finished");
    actor = start_job(self, std::move(**stored));
  }
  return self->make_response_promise<cancel_result>().delegate(actor, cancel_atom::value);
}

caf::result<delivery> on_redeliver(router_self self, const std::string& job_id) {
  auto stored = stored_job(self, job_id);
  if (!stored) return stored.error();
  if (!*stored) return no_job(job_id);
  auto& record = **stored;
  if (record.spec.webhook_url.empty())
    return make_error(error_code::invalid_request, "job " + job_id + " has no webhook_url",
                      "webhook_url");
  if (!is_terminal(record.status) || self->state.live.count(job_id))
    return make_error(error_code::invalid_request,
                      "job " + job_id + " has not finished; its event is sent when it does");
  auto promise = self->make_response_promise<delivery>();
  return promise.delegate(node(self).deliveries, redeliver_atom::value, std::move(record));
}

/// Writes `batch`, a change of `job_id` marked in `changing`, and answers `next` once durable.
void commit_change(router_self self, const std::string& job_id, write_batch batch, job next,
                   caf::typed_response_promise<job> promise) {
  KILN_ASSERT(self->state.changing.count(job_id) == 1);
  self->request(node(self).writer, supervised_wait, commit_atom::value, std::move(batch))
    .then(
      [=](caf::ok_atom) mutable {
        self->state.changing.erase(job_id);
        promise.deliver(next);
      },
      [=](caf::error& failure) mutable {
        self->state.changing.erase(job_id);
        promise.deliver(std::move(failure));
      });
}

/// Soft delete (`deleting`) or restore: the job's record with deleted_at set or cleared, and its
/// listing keys, in one batch. Only a finished job whose actor has stopped (nothing else writes
/// its record then) and whose refund is written; one change at a time per job.
caf::result<job> on_change_deletion(router_self self, const std::string& job_id, bool deleting) {
  auto& st = self->state;
  auto stored = stored_job(self, job_id, !deleting);
  if (!stored) return stored.error();
  if (!*stored || (!deleting && (*stored)->deleted_at_ms == 0)) return no_job(job_id);
  auto& record = **stored;
  bool refund_pending = record.status == job_status::canceled && record.credits_held > 0 &&
                        record.credits_refunded == 0;
  if (deleting && (!is_terminal(record.status) || refund_pending || st.live.count(job_id) ||
                   st.changing.count(job_id)))
    return make_error(error_code::cannot_delete,
                      "job " + job_id + " has not finished; cancel it or wait for it to end");
  if (st.changing.count(job_id))
    return make_error(error_code::unavailable, "job " + job_id + " is being changed; retry");
  auto next = record;
  next.deleted_at_ms = deleting ? node(self).clock->now_ms() : 0;
  auto batch = records::job_batch(next, &record);
  records::put_event(
    batch, job_id,
    make_event(deleting ? "job.deleted" : "job.restored",
               deleting ? next.deleted_at_ms : node(self).clock->now_ms(), record.trace_id));
  st.changing.insert(job_id);
  auto promise = self->make_response_promise<job>();
  commit_change(self, job_id, std::move(batch), std::move(next), promise);
  return promise;
}

/// Output retention: a finished job's files are deleted by `remover` (detached: it blocks on
/// fsync), then its record says outputs_expired_at and loses its output_expiry key, in one batch.
/// Files first: a crash between leaves the key, and the next sweep deletes (nothing) and writes
/// again. Soft-deleted jobs expire too; like a delete, one change at a time and never while live.
caf::result<job> on_expire(router_self self, const std::string& job_id,
                           const file_remover_actor& remover) {
  auto& st = self->state;
  auto stored = stored_job(self, job_id, true);
  if (!stored) return stored.error();
  if (!*stored) return no_job(job_id);
  auto& record = **stored;
  if (!is_terminal(record.status) || st.live.count(job_id) || st.changing.count(job_id))
    return make_error(error_code::unavailable, "job " + job_id + " is running or being changed");
  st.changing.insert(job_id);
  auto promise = self->make_response_promise<job>();
  if (!output_expiry::holds_files(record)) {  // already expired: at most a stale key to erase
    write_batch batch;
    batch.erase(column::output_expiry, output_expiry::key(record.completed_at_ms, job_id));
    commit_change(self, job_id, std::move(batch), std::move(record), promise);
    return promise;
  }
  std::vector<std::string> files;
  for (const auto& output : record.outputs) files.push_back(output.file);
  self->request(remover, node(self).request_timeout, delete_atom::value, std::move(files))
    .then(
      [=](caf::ok_atom) mutable {
        auto next = record;
        next.outputs_expired_at_ms = node(self).clock->now_ms();
        KILN_ASSERT(!output_expiry::holds_files(next));
        auto batch = records::job_batch(next, &record);
        records::put_event(
          batch, job_id,
          make_event("job.outputs_expired", next.outputs_expired_at_ms, record.trace_id));
        commit_change(self, job_id, std::move(batch), std::move(next), promise);
      },
      [=](caf::error& failure) mutable {
        self->state.changing.erase(job_id);
        promise.deliver(std::move(failure));
      });
  return promise;
}

/// The job is terminal and durable: its actor stops after every read already routed to it.
void on_job_done(router_self self, const std::string& job_id) {
  auto it = self->state.live.find(job_id);
  if (it == self->state.live.end()) return;
  self->demonitor(it->second.address());
  self->send(it->second, stop_atom::value);
  self->state.live.erase(it);
}

/// A job actor that crashed is started again from its stored record.
void on_job_down(router_self self, const caf::down_msg& down) {
  auto& st = self->state;
  for (auto it = st.live.begin(); it != st.live.end(); ++it) {
    if (it->second.address() != down.source) continue;
    auto id = it->first;
    st.live.erase(it);
    if (!down.reason || down.reason == caf::exit_reason::user_shutdown) return;
    logs::get("actors")->error(R"("event":"job.actor_crashed","job":"{}","reason":"{}")", id,
                               logs::json_text(caf::to_string(down.reason)));
    auto stored = stored_job(self, id);
    if (!stored || !*stored || is_terminal((*stored)->status)) return;
    auto& record = **stored;
    if (record.status == job_status::processing) {
      start_job(self, std::move(record));  // it queues itself again
    } else {  // its ticket may have gone with it: queue it afresh, without an actor
      self->send(node(self).scheduler, withdraw_atom::value, st.account_id, id);
      self->send(node(self).scheduler, enqueue_atom::value,
                 ticket_for(record, st.jobs->max_concurrent_jobs,
                            caf::actor_cast<dispatch_target_actor>(self)));
    }
    return;
  }
}

job_router_actor::behavior_type job_router(router_self self, actor_context context,
                                           account_actor ledger, const account& owner,
                                           std::shared_ptr<std::vector<job>> live,
                                           std::shared_ptr<std::vector<job>> refunds) {
  auto& st = self->state;
  st.account_id = owner.id;
  auto shared = std::make_shared<job_context>();
  shared->node = std::move(context);
  shared->ledger = std::move(ledger);
  shared->router = caf::actor_cast<job_router_actor>(self);
  if (const auto* plan = shared->node.config->find_plan(owner.plan))
    shared->max_concurrent_jobs = plan->max_concurrent_jobs;
  st.jobs = std::move(shared);
  self->set_down_handler([=](caf::down_msg& down) { on_job_down(self, down); });
  for (auto& j : *live) {
    if (j.status == job_status::queued)
      self->send(
        node(self).scheduler, enqueue_atom::value,
        ticket_for(j, st.jobs->max_concurrent_jobs, caf::actor_cast<dispatch_target_actor>(self)));
    else start_job(self, std::move(j));  // its run was lost: the actor queues it again
  }
  for (auto& j : *refunds) start_job(self, std::move(j));  // the actor writes the refund
  return {
    [=](dispatch_atom, job_ticket& ticket, const std::string& device_id, device_actor& device) {
      on_dispatch(self, ticket, device_id, device);
    },
    [=](get_job_atom, const std::string& job_id, std::uint32_t wait_ms) {
      return on_get(self, job_id, wait_ms);
    },
    [=](delete_atom, const std::string& job_id) { return on_change_deletion(self, job_id, true); },
    [=](restore_atom, const std::string& job_id) {
      return on_change_deletion(self, job_id, false);
    },
    [=](expire_atom, const std::string& job_id, const file_remover_actor& remover) {
      return on_expire(self, job_id, remover);
    },
    [=](cancel_atom, const std::string& job_id) { return on_cancel(self, job_id); },
    [=](redeliver_atom, const std::string& job_id) { return on_redeliver(self, job_id); },
    [=](job_done_atom, const std::string& job_id) { on_job_done(self, job_id); },
  };
}

}  // namespace

job_router_actor spawn_job_router(caf::actor_system& system, const actor_context& context,
                                  account_actor ledger, const account& owner, std::vector<job> live,
                                  std::vector<job> refunds) {
  // Shared, not copied into the spawn: a recovered account can have 100k queued jobs.
  return system.spawn(job_router, context, std::move(ledger), owner,
                      std::make_shared<std::vector<job>>(std::move(live)),
                      std::make_shared<std::vector<job>>(std::move(refunds)));
}

}  // namespace kiln
