// The account actor: the credit ledger of one account. Each handler is a short call into the
// group commit (account_ledger) or the idempotency routing (idempotency_router); this file only
// sends: batches to the store writer, answers, and tickets of new jobs to the scheduler.
//
// Requests that reach the account while its previous group is being written wait and go into its
// next group, validated against the durable balance; the store's committer joins the groups of
// every account waiting at that moment into one synced write.
#include "actors/account_actor.hpp"

#include "actors/account_ledger.hpp"
#include "actors/idempotency_actor.hpp"
#include "actors/idempotency_router.hpp"
#include "actors/job_context.hpp"
#include "actors/job_router.hpp"
#include "base/assert.hpp"
#include "base/logging.hpp"
#include "base/metrics.hpp"
#include "config/limits.hpp"
#include "models/billing_period.hpp"
#include "models/crypto.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <unordered_map>

namespace kiln {
namespace {

struct account_state {
  actor_context context;
  std::optional<account_ledger> ledger;
  std::optional<idempotency_router> keys;
  job_router_actor jobs;                  ///< new jobs' tickets name it
  std::uint32_t max_concurrent_jobs = 0;  ///< the plan's, on every ticket
  bool sweep_scheduled = false;           ///< a sweep of expired keys is due
  bool period_check_scheduled = false;    ///< a check of the monthly credits' period is due
  std::int64_t last_created_ms = 0;       ///< of the newest job made since the start
  static inline const char* name = "account";
};

using account_self = account_actor::stateful_pointer<account_state>;

std::int64_t now(account_self self) { return self->state.context.clock->now_ms(); }

// -- group commit -----------------------------------------------------------------------------

void schedule_period_check(account_self self, std::chrono::milliseconds after);

/// Answers a movement that will not be written, and frees the key it would have bound.
void refuse(account_self self, movement& m, const caf::error& why) {
  if (m.what == movement::kind::monthly) {  // nobody waits: a failed write is tried again soon
    if (!has_code(why, error_code::invalid_request))
      schedule_period_check(self, limits::write_retry_delay_max);
    return;
  }
  m.promise.deliver(why);
  if (m.owner) self->send(m.owner, unbound_atom::value, m.claim.fingerprint, why);
}

void schedule_sweep(account_self self, std::chrono::milliseconds after) {
  auto& st = self->state;
  if (st.sweep_scheduled) return;
  st.sweep_scheduled = true;
  self->delayed_send(self, std::max(after, limits::idempotency_sweep_interval_min),
                     sweep_atom::value);
}

/// Answers a movement whose group is durable.
void answer(account_self self, landed_movement& landed) {
  auto& st = self->state;
  auto& m = landed.m;
  const auto* entry = landed.entry ? &*landed.entry : nullptr;
  if (m.owner) {  // the key is bound: its owner answers the requests that waited for it
    self->send(m.owner, bound_atom::value, binding_of(m, entry, 0));
    schedule_sweep(self, std::chrono::seconds(st.context.config->jobs.idempotency_ttl_s));
  }
  switch (m.what) {
    case movement::kind::submit:
      self->send(st.context.scheduler, enqueue_atom::value,
                 ticket_for(m.record, st.max_concurrent_jobs, st.jobs));
      metrics::add(metrics::global().jobs_created);
      m.promise.deliver(submitted{std::move(m.record), false});
      break;
    case movement::kind::settle:
      m.promise.deliver(caf::ok_atom::value);
      break;
    case movement::kind::grant:
      KILN_ASSERT(entry);
      m.promise.deliver(grant_result{*entry, st.ledger->durable(), false});
      break;
    case movement::kind::rotate: {
      const auto& r = st.ledger->record();
      m.promise.deliver(webhook_secret_view{r.webhook_secret, r.previous_webhook_secret,
                                            r.previous_secret_until_ms});
      break;
    }
    case movement::kind::monthly:
      logs::get("actors")->info(
        R"("event":"ledger.monthly_granted","account":"{}","period":"{}","credits":{})",
        st.ledger->record().id, m.reason, entry ? entry->amount : 0);
      break;
  }
}

void start_groups(account_self self);

void on_group_written(account_self self, std::uint64_t id) {
  for (auto& landed : self->state.ledger->written(id)) answer(self, landed);
  start_groups(self);
}

/// The first failure undoes everything in flight, newest first, and answers it all.
void on_group_failed(account_self self, std::uint64_t id, const caf::error& error) {
  for (auto& m : self->state.ledger->failed(id)) refuse(self, m, error);
  start_groups(self);
}

/// Writes the waiting movements as the next group, if one may start.
void start_groups(account_self self) {
  auto& st = self->state;
  std::vector<refused_movement> refused;
  auto group = st.ledger->start_group(now(self), refused);
  for (auto& r : refused) refuse(self, r.m, r.why);
  if (!group) return;
  auto id = group->id;
  self->request(st.context.writer, supervised_wait, commit_atom::value, std::move(group->batch))
    .then([=](caf::ok_atom) { on_group_written(self, id); },
          [=](caf::error& error) { on_group_failed(self, id, error); });
}

// -- monthly credits ----------------------------------------------------------------------------

void schedule_period_check(account_self self, std::chrono::milliseconds after) {
  auto& st = self->state;
  if (st.period_check_scheduled) return;
  st.period_check_scheduled = true;
  self->delayed_send(self, after, period_atom::value);
}

/// The durable timer of the plan's monthly credits: when the period now is not the last one
/// granted (the account record says which, so a restart neither skips nor repeats one), its
/// top-up goes into the next group; then the next check is set for the period's end, or within
/// the hour (a clock that moved is noticed by then).
void on_period_check(account_self self) {
  auto& st = self->state;
  st.period_check_scheduled = false;
  const auto* plan = st.context.config->find_plan(st.ledger->record().plan);
  if (!plan || plan->monthly_credits == 0) return;
  auto period = period_of(now(self));
  if (st.ledger->record().monthly_period < period.name) {
    movement m;
    m.what = movement::kind::monthly;
    m.amount = plan->monthly_credits;
    m.reason = period.name;
    st.ledger->add(std::move(m));
    start_groups(self);
  }
  auto until_end = std::chrono::milliseconds(period.end_ms - now(self) + 1);
  schedule_period_check(self, std::clamp(until_end, std::chrono::milliseconds(1000),
                                         std::chrono::milliseconds(limits::period_check_max)));
}

template <class Answer>
caf::result<Answer> enqueue(account_self self, movement m) {
  auto promise = self->make_response_promise<Answer>();
  m.promise = promise;
  self->state.ledger->add(std::move(m));
  start_groups(self);
  return promise;
}

// -- requests -----------------------------------------------------------------------------------

movement submit_movement(account_self self, job_spec spec, const std::string& trace_id) {
  movement m;
  // Creation times are distinct within the account and grow with its jobs' seq, so a time is a
  // cursor that never splits two jobs (GET /v1/jobs?created_before, MercaDream's `before`).
  auto created = std::max(now(self), self->state.last_created_ms + 1);
  self->state.last_created_ms = created;
  m.record.id = crypto::make_id("job_", created);
  m.record.account_id = self->state.ledger->record().id;
  m.record.spec = std::move(spec);
  m.record.credits_held = m.record.spec.livemode ? m.record.spec.cost : 0;  // test: no hold
  m.record.trace_id = trace_id;
  m.record.created_at_ms = created;
  return m;
}

movement grant_movement(std::int64_t amount, std::string reason) {
  movement m;
  m.what = movement::kind::grant;
  m.amount = amount;
  m.reason = std::move(reason);
  return m;
}

/// A request with an Idempotency-Key: waits at the key's owner while its first request is in
/// flight, is answered from the key's binding once bound, and otherwise becomes the first request
/// of a new owner.
template <class Answer, class Keyed, class Replay, class Make>
caf::result<Answer> on_keyed(account_self self, Keyed request, Replay replay, Make make) {
  auto& st = self->state;
  const auto key = request.claim.key;
  if (auto owner = st.keys->owner_of(key)) {
    auto promise = self->make_response_promise<Answer>();
    return promise.delegate(owner, join_atom::value, std::move(request));
  }
  auto binding = st.keys->binding(*st.context.db, key, now(self));
  if (!binding) return binding.error();  // the store failed: 503, nothing happened
  if (*binding) {
    auto replayed = replay(**binding, request.claim);
    if (!replayed) return replayed.error();
    return std::move(*replayed);
  }
  auto m = make(request);
  m.claim = std::move(request.claim);
  m.owner = spawn_idempotency_owner(self->system(), caf::actor_cast<account_actor>(self), key);
  st.keys->own(key, m.owner);
  return enqueue<Answer>(self, std::move(m));
}

caf::result<submitted> on_submit(account_self self, job_spec& spec, const std::string& trace_id,
                                 idempotency_claim& claim) {
  if (claim.key.empty())
    return enqueue<submitted>(self, submit_movement(self, std::move(spec), trace_id));
  return on_keyed<submitted>(
    self, keyed_submit{std::move(claim), std::move(spec), trace_id}, replay_submit,
    [=](keyed_submit& r) { return submit_movement(self, std::move(r.spec), r.trace_id); });
}

caf::result<grant_result> on_grant(account_self self, std::int64_t amount, std::string& reason,
                                   idempotency_claim& claim) {
  if (claim.key.empty()) return enqueue<grant_result>(self, grant_movement(amount, reason));
  return on_keyed<grant_result>(
    self, keyed_grant{std::move(claim), amount, std::move(reason)}, replay_grant,
    [](keyed_grant& r) { return grant_movement(r.amount, std::move(r.reason)); });
}

caf::result<caf::ok_atom> on_settle(account_self self, settlement& s) {
  movement m;
  m.what = movement::kind::settle;
  m.settlement = std::move(s);
  return enqueue<caf::ok_atom>(self, std::move(m));
}

/// The key's owner is done: later requests with the key are answered from the store.
void on_key_done(account_self self, const std::string& key) {
  auto owner = caf::actor_cast<idempotency_owner_actor>(self->current_sender());
  self->state.keys->forget(key, owner);
  self->send(owner, stop_atom::value);  // after every request already sent to it
}

/// Deletes a batch of expired keys; not chained to the ledger's groups: a failed sweep changes
/// nothing and is tried again at the next one.
void on_sweep(account_self self) {
  auto& st = self->state;
  st.sweep_scheduled = false;
  auto pass = st.keys->sweep(*st.context.db, now(self));
  if (!pass) {
    schedule_sweep(self, limits::idempotency_sweep_interval_min);
    return;
  }
  if (!pass->batch.ops.empty()) {
    metrics::add(metrics::global().idempotency_keys_expired, pass->expired);
    self->request(st.context.writer, supervised_wait, commit_atom::value, std::move(pass->batch))
      .then([](caf::ok_atom) {}, [](caf::error&) {});
  }
  if (pass->next_expiry_ms)
    schedule_sweep(self, std::chrono::milliseconds(
                           std::max<std::int64_t>(*pass->next_expiry_ms - now(self), 0)));
}

webhook_secret_view current_secrets(account_self self) {
  const auto& r = self->state.ledger->record();
  bool previous = !r.previous_webhook_secret.empty() && now(self) < r.previous_secret_until_ms;
  return webhook_secret_view{r.webhook_secret, previous ? r.previous_webhook_secret : "",
                             previous ? r.previous_secret_until_ms : 0};
}

// -- start --------------------------------------------------------------------------------------

/// What the account actor starts from: its start without the jobs (which go to the router),
/// and the ledger as it stood at the stop.
struct ledger_start {
  account record;
  std::uint64_t last_job_seq = 0;
  bool has_idempotency_keys = false;
  credit_ledger ledger;
};

/// The ledger as it stood at the stop: the stored balance and the holds of unfinished jobs.
credit_ledger recovered_ledger(const account_start& start) {
  std::unordered_map<std::string, std::int64_t> holds;
  std::unordered_map<std::string, std::int64_t> monthly;
  for (const auto* jobs : {&start.live, &start.refunds})
    for (const auto& j : *jobs) {
      if (!j.spec.livemode) continue;  // a test job holds nothing
      holds.emplace(j.id, j.credits_held);
      if (j.credits_held_monthly > 0) monthly.emplace(j.id, j.credits_held_monthly);
    }
  return credit_ledger(start.record.balance, std::move(holds), start.last_ledger_seq,
                       std::move(monthly));
}

account_actor::behavior_type account_behavior(account_self self, actor_context context,
                                              std::shared_ptr<ledger_start> start_ptr) {
  auto& st = self->state;
  auto& start = *start_ptr;  // shared, not copied: a recovered ledger can hold 100k holds
  st.context = std::move(context);
  auto ledger = std::move(start.ledger);
  // What is on disk is not a programming error: an account whose holds do not match its balance
  // is reported loudly, and the rest of the node still starts.
  if (!ledger.consistent())
    logs::get("actors")->critical(
      R"("event":"ledger.inconsistent","account":"{}","held":{},"open_holds":{})", start.record.id,
      start.record.balance.held, ledger.open_holds());
  const auto& config = *st.context.config;
  st.ledger.emplace(start.record, std::move(ledger), start.last_job_seq,
                    account_ledger::options{
                      static_cast<std::int64_t>(config.jobs.idempotency_ttl_s) * 1000,
                      static_cast<std::int64_t>(config.webhooks.secret_rotation_window_s) * 1000});
  st.keys.emplace(start.record.id);
  if (const auto* plan = config.find_plan(start.record.plan))
    st.max_concurrent_jobs = plan->max_concurrent_jobs;
  // Keys bound before the last stop still expire: sweep once the first of them is due.
  if (start.has_idempotency_keys) schedule_sweep(self, std::chrono::milliseconds(0));
  // The monthly credits of a period that began while the server was down are granted now.
  if (const auto* plan = config.find_plan(start.record.plan); plan && plan->monthly_credits > 0)
    self->send(self, period_atom::value);
  return {
    [=](submit_atom, job_spec& spec, const std::string& trace_id, idempotency_claim& claim) {
      return on_submit(self, spec, trace_id, claim);
    },
    [=](grant_atom, std::int64_t amount, std::string& reason, idempotency_claim& claim) {
      return on_grant(self, amount, reason, claim);
    },
    [=](settle_atom, settlement& s) { return on_settle(self, s); },
    [=](estimate_atom, std::int64_t credits) {
      const auto& b = self->state.ledger->durable();
      return estimate{credits, b.available, b.available >= credits};
    },
    [=](balance_atom) { return self->state.ledger->durable(); },
    [=](get_account_atom) { return self->state.ledger->shown(); },
    [=](secret_atom) { return current_secrets(self); },
    [=](rotate_atom) {
      movement m;
      m.what = movement::kind::rotate;
      return enqueue<webhook_secret_view>(self, std::move(m));
    },
    [=](register_atom, job_router_actor& jobs) { self->state.jobs = std::move(jobs); },
    [=](key_done_atom, const std::string& key) { on_key_done(self, key); },
    [=](sweep_atom) { on_sweep(self); },
    [=](period_atom) { on_period_check(self); },
  };
}

}  // namespace

account_handles spawn_account(caf::actor_system& system, const actor_context& context,
                              account_start start) {
  // The account needs the jobs' holds only; the jobs themselves go to the router, uncopied.
  auto ledger = system.spawn(
    account_behavior, context,
    std::make_shared<ledger_start>(ledger_start{
      start.record, start.last_job_seq, start.has_idempotency_keys, recovered_ledger(start)}));
  auto jobs = spawn_job_router(system, context, ledger, start.record, std::move(start.live),
                               std::move(start.refunds));
  // Before anyone else knows either handle, so before any submit reaches the ledger.
  caf::anon_send(ledger, register_atom::value, jobs);
  return {ledger, jobs};
}

}  // namespace kiln
