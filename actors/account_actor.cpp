// Account actor: the credit ledger of one account and the jobs it pays for.
//
// Every balance movement (hold on submit, capture on success, release on failure or cancel,
// grant) is written in one WriteBatch with the job record it belongs to, the ledger entry and the
// account's new balance. Movements are committed in groups: while one group is being written,
// new requests wait in `waiting`; when it lands they are validated against the durable balance
// and written together as the next group. Nothing else changes the ledger while a group is in
// flight, so a failed write is rolled back exactly with `credit_ledger::undo`.
#include "actors/account_actor.hpp"

#include "actors/idempotency_actor.hpp"
#include "actors/job_actor.hpp"
#include "actors/protocol.hpp"
#include "config/settings.hpp"
#include "models/crypto.hpp"
#include "models/json_writer.hpp"
#include "persistence/records.hpp"
#include "base/logging.hpp"
#include "base/metrics.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <deque>
#include <map>
#include <unordered_map>

namespace kiln {
namespace {

struct movement;

/// Movements written together, with what it takes to answer or undo them.
struct group {
  std::uint64_t id = 0;
  std::vector<struct movement> movements;
  std::vector<ledger_entry> applied;  ///< in order; undone newest first
  std::vector<std::size_t> entry_of;  ///< per movement: index into `applied`, or SIZE_MAX
  std::uint64_t seq_before = 0;       ///< next_seq before this group
  kiln::balance balance_after;        ///< the balance once this group is on disk
};

/// Groups an account may have in flight at once. Each is built on the previous one and written
/// only if it was (commit_token), so a failure never leaves a later group on a missing state.
constexpr std::size_t groups_in_flight_max = 4;

/// A request that moves credits, waiting for its group.
struct movement {
  enum class kind { submit, settle, grant, rotate } what = kind::submit;
  job record;  ///< submit: the new job (id and seq set in the group); settle: next
  std::int64_t amount = 0;  ///< grant
  std::string reason;       ///< grant
  idempotency_claim claim;  ///< submit and grant: the key it binds, if any
  caf::actor owner;         ///< the key's owner, told how the movement ended
  std::optional<delivery> webhook;  ///< settle: the terminal event's delivery, written with it
  /// rotate: the secrets before it, to undo a failed write
  struct secrets {
    std::string current, previous;
    std::int64_t previous_until_ms = 0;
  } before;
  caf::response_promise promise;
};

struct account_state {
  account record;  ///< its balance includes the groups in flight (it is written with each)
  /// The balance as on disk: what reads show, so none shows credits a failed write undoes.
  kiln::balance durable;
  credit_ledger ledger;
  actor_context context;
  std::shared_ptr<const actor_context> job_context;  ///< one copy for all of this account's jobs
  /// Jobs that have an actor now: from their dispatch, cancel or Prefer: wait to their end.
  std::unordered_map<std::string, caf::actor> live_jobs;
  std::uint64_t next_seq = 1;
  std::vector<movement> waiting;
  std::deque<struct group> in_flight;            ///< sent to the store, oldest first
  std::shared_ptr<commit_token> last_token;      ///< the newest group's; the next one depends on it
  std::uint64_t next_group_id = 1;
  std::vector<movement> retrying;  ///< start-up refunds whose write failed, tried again each second
  bool retry_scheduled = false;
  /// Idempotency keys whose first request is in flight, and their owners.
  std::unordered_map<std::string, caf::actor> key_owners;
  bool sweep_scheduled = false;  ///< a sweep of expired keys is due
  static inline const char* name = "account";
};

using account_self = caf::stateful_actor<account_state>*;

std::uint64_t last_seq(const store& db, column family, const std::string& account_id) {
  std::uint64_t seq = 0;
  db.scan_reverse(family, records::account_job_prefix(account_id), {},
                  [&](std::string_view key, std::string_view) {
                    seq = std::stoull(std::string(key.substr(key.rfind('/') + 1)), nullptr, 16);
                    return false;
                  });
  return seq;
}

caf::actor start_job(account_self self, job record) {
  auto& st = self->state;
  auto id = record.id;
  auto actor = spawn_job(self->system(), st.job_context, std::move(record),
                         caf::actor_cast<caf::actor>(self));
  self->monitor(actor);
  st.live_jobs[id] = actor;
  return actor;
}

/// Puts a queued job without an actor in the scheduler's queue; its dispatch comes back here.
void queue_job(account_self self, const job& record) {
  auto& st = self->state;
  self->send(st.context.scheduler, enqueue_atom::value,
             ticket_for(record, *st.job_context, caf::actor_cast<caf::actor>(self)));
}

std::optional<job> stored_job(account_self self, const std::string& job_id);

/// The job's actor, or nullptr while it has none.
caf::actor live_actor(account_self self, const std::string& job_id) {
  auto it = self->state.live_jobs.find(job_id);
  return it == self->state.live_jobs.end() ? caf::actor{} : it->second;
}

void on_job_down(account_self self, const caf::down_msg& down) {
  auto& st = self->state;
  for (auto it = st.live_jobs.begin(); it != st.live_jobs.end(); ++it) {
    if (it->second.address() != down.source) continue;
    auto id = it->first;
    st.live_jobs.erase(it);
    if (!down.reason || down.reason == caf::exit_reason::user_shutdown) return;
    logs::get("actors")->error(R"("event":"job.actor_crashed","job":"{}","reason":"{}")", id,
                               logs::json_text(caf::to_string(down.reason)));
    auto record = stored_job(self, id);
    if (!record || is_terminal(record->status)) return;
    if (record->status == job_status::processing) {
      start_job(self, std::move(*record));  // it queues itself again
    } else {  // its ticket may have gone with it: queue it afresh, without an actor
      self->send(st.context.scheduler, withdraw_atom::value, st.record.id, id);
      queue_job(self, *record);
    }
    return;
  }
}

// -- group commit of credit movements ----------------------------------------------------------

/// Answers a movement that will not be written, and frees the key it would have bound.
void refuse(account_self self, movement& m, const caf::error& error) {
  if (m.promise.pending()) m.promise.deliver(error);
  if (m.owner) self->send(m.owner, unbound_atom::value, m.claim.fingerprint, error);
}

/// What the movement's key is bound to: its request and its answer (the job as created, or the
/// grant's entry).
idempotency_record binding_of(const movement& m, const ledger_entry* entry,
                              std::int64_t expires_at_ms) {
  idempotency_record binding;
  binding.fingerprint = m.claim.fingerprint;
  binding.expires_at_ms = expires_at_ms;
  if (m.what == movement::kind::submit) binding.created = m.record;
  else binding.granted = *entry;
  return binding;
}

/// Adds the binding of the movement's key, if it has one, to `batch`.
void bind_key(account_self self, const movement& m, write_batch& batch, std::int64_t now,
              const ledger_entry* entry) {
  if (m.claim.key.empty()) return;
  auto& st = self->state;
  auto ttl_ms = static_cast<std::int64_t>(st.context.config->jobs.idempotency_ttl_s) * 1000;
  records::bind_idempotency_key(batch, st.record.id, m.claim.key,
                                binding_of(m, entry, now + ttl_ms));
}

/// Validates `m` against the ledger as it stands within the group, applies it and adds its
/// writes to `batch`; false (and the promise answered) when it is refused.
bool add_to_group(account_self self, movement& m, write_batch& batch,
                  std::vector<ledger_entry>& applied, std::int64_t now) {
  auto& st = self->state;
  if (m.what == movement::kind::submit) {
    auto entry = st.ledger.hold(m.record.id, m.record.spec.model, m.record.spec.cost, now);
    if (!entry) {
      refuse(self, m,
             make_error(error_code::insufficient_credits,
                        "the job costs " + std::to_string(m.record.spec.cost) + " credits; " +
                          std::to_string(st.ledger.balance().available) + " are available"));
      return false;
    }
    m.record.seq = st.next_seq++;
    for (auto& op : records::job_batch(m.record, true).ops) batch.ops.push_back(std::move(op));
    batch.put(column::ledger, records::ledger_key(st.record.id, entry->seq), records::encode(*entry));
    bind_key(self, m, batch, now, nullptr);
    applied.push_back(std::move(*entry));
    return true;
  }
  if (m.what == movement::kind::settle) {
    const auto& j = m.record;
    auto entry = j.status == job_status::succeeded ? st.ledger.capture(j.id, j.spec.model, now)
                                                    : st.ledger.release(j.id, j.spec.model, now);
    if (entry) {  // no entry: the hold was settled before, and is never settled twice
      batch.put(column::ledger, records::ledger_key(st.record.id, entry->seq),
                records::encode(*entry));
      applied.push_back(std::move(*entry));
    }
    batch.put(column::jobs, j.id, records::encode(j));
    // A canceled job's event was written with its cancel; success and failure are written here.
    if (!j.spec.webhook_url.empty() && j.status != job_status::canceled && m.promise.pending()) {
      m.webhook = new_delivery(j, now);
      records::put_delivery(batch, *m.webhook);
    }
    return true;
  }
  if (m.what == movement::kind::rotate) {
    m.before = {st.record.webhook_secret, st.record.previous_webhook_secret,
                st.record.previous_secret_until_ms};
    st.record.previous_webhook_secret = st.record.webhook_secret;
    st.record.previous_secret_until_ms =
      now + static_cast<std::int64_t>(st.context.config->webhooks.secret_rotation_window_s) * 1000;
    st.record.webhook_secret = crypto::make_webhook_secret();
    return true;  // the account record is written with every group
  }
  auto entry = st.ledger.grant(m.amount, m.reason, now);
  batch.put(column::ledger, records::ledger_key(st.record.id, entry.seq), records::encode(entry));
  bind_key(self, m, batch, now, &entry);
  applied.push_back(std::move(entry));
  return true;
}

void schedule_sweep(account_self self, std::chrono::milliseconds after);

void answer(account_self self, movement& m, const ledger_entry* entry) {
  if (!m.promise.pending()) return;  // a refund re-issued at start-up: nobody waits for it
  if (m.owner) {  // the key is bound: its owner answers the requests that waited for it
    self->send(m.owner, bound_atom::value, binding_of(m, entry, 0));
    schedule_sweep(self, std::chrono::seconds(self->state.context.config->jobs.idempotency_ttl_s));
  }
  if (m.what == movement::kind::submit) {
    queue_job(self, m.record);
    metrics::add(metrics::global().jobs_created);
    m.promise.deliver(submitted{std::move(m.record), false});
  } else if (m.what == movement::kind::settle) {
    if (m.webhook) self->send(self->state.context.deliveries, deliver_atom::value, *m.webhook);
    m.promise.deliver(caf::ok_atom::value);
  } else if (m.what == movement::kind::rotate) {
    const auto& r = self->state.record;
    m.promise.deliver(webhook_secret_view{r.webhook_secret, r.previous_webhook_secret,
                                          r.previous_secret_until_ms});
  } else {
    m.promise.deliver(grant_result{*entry, self->state.durable, false});
  }
}

void on_group_written(account_self self, std::uint64_t id);
void on_group_failed(account_self self, std::uint64_t id, const caf::error& error);

void start_group(account_self self) {
  auto& st = self->state;
  if (st.in_flight.size() >= groups_in_flight_max || st.waiting.empty()) return;
  auto waiting = std::move(st.waiting);
  st.waiting.clear();
  auto now = st.context.clock->now_ms();
  group g;
  g.id = st.next_group_id++;
  g.seq_before = st.next_seq;
  write_batch batch;
  for (auto& m : waiting) {
    auto entries_before = g.applied.size();
    if (!add_to_group(self, m, batch, g.applied, now)) continue;
    g.entry_of.push_back(g.applied.size() > entries_before ? g.applied.size() - 1 : SIZE_MAX);
    g.movements.push_back(std::move(m));
  }
  if (g.movements.empty()) return;
  st.record.balance = g.balance_after = st.ledger.balance();
  batch.put(column::accounts, st.record.id, records::encode(st.record));
  batch.after = st.last_token;
  batch.token = st.last_token = std::make_shared<commit_token>();
  auto id = g.id;
  st.in_flight.push_back(std::move(g));
  self->request(st.context.writer, supervised_wait, commit_atom::value, std::move(batch))
    .then([=](caf::ok_atom) { on_group_written(self, id); },
          [=](caf::error& error) { on_group_failed(self, id, error); });
}

void on_group_written(account_self self, std::uint64_t id) {
  auto& st = self->state;
  if (st.in_flight.empty() || st.in_flight.front().id != id) return;  // undone already
  auto g = std::move(st.in_flight.front());
  st.in_flight.pop_front();
  st.durable = g.balance_after;
  for (std::size_t i = 0; i < g.movements.size(); ++i)
    answer(self, g.movements[i], g.entry_of[i] == SIZE_MAX ? nullptr : &g.applied[g.entry_of[i]]);
  start_group(self);
}

/// The store writes an account's groups in order and drops every group after a failed one, so
/// the first failure undoes everything in flight, newest first, and answers it all.
void on_group_failed(account_self self, std::uint64_t id, const caf::error& error) {
  auto& st = self->state;
  bool known = false;
  for (const auto& g : st.in_flight) known = known || g.id == id;
  if (!known) return;  // undone with an earlier group
  for (auto g = st.in_flight.rbegin(); g != st.in_flight.rend(); ++g) {
    for (auto e = g->applied.rbegin(); e != g->applied.rend(); ++e) st.ledger.undo(*e);
    for (auto m = g->movements.rbegin(); m != g->movements.rend(); ++m)
      if (m->what == movement::kind::rotate) {
        st.record.webhook_secret = m->before.current;
        st.record.previous_webhook_secret = m->before.previous;
        st.record.previous_secret_until_ms = m->before.previous_until_ms;
      }
  }
  st.next_seq = st.in_flight.front().seq_before;
  st.record.balance = st.ledger.balance();
  for (auto& g : st.in_flight)
    for (auto& m : g.movements) {
      if (m.promise.pending()) refuse(self, m, error);
      else st.retrying.push_back(std::move(m));  // a start-up refund: must not be dropped
    }
  st.in_flight.clear();
  st.last_token = nullptr;
  if (!st.retrying.empty() && !st.retry_scheduled) {
    st.retry_scheduled = true;
    self->delayed_send(self, std::chrono::seconds(1), tick_atom::value);
  }
  start_group(self);
}

caf::response_promise enqueue_movement(account_self self, movement m) {
  m.promise = self->make_response_promise();
  auto promise = m.promise;
  self->state.waiting.push_back(std::move(m));
  start_group(self);
  return promise;
}

// -- requests -----------------------------------------------------------------------------------

movement submit_movement(account_self self, job_spec spec, const std::string& trace_id) {
  auto& st = self->state;
  movement m;
  auto now = st.context.clock->now_ms();
  m.record.id = crypto::make_id("job_", now);
  m.record.account_id = st.record.id;
  m.record.spec = std::move(spec);
  m.record.credits_held = m.record.spec.cost;
  m.record.trace_id = trace_id;
  m.record.created_at_ms = now;
  return m;
}

movement grant_movement(std::int64_t amount, std::string reason) {
  movement m;
  m.what = movement::kind::grant;
  m.amount = amount;
  m.reason = std::move(reason);
  return m;
}

/// The key's binding in the store, unless it has expired.
std::optional<idempotency_record> stored_binding(account_self self, const std::string& key) {
  auto& st = self->state;
  auto bytes = st.context.db->get(column::idempotency, records::idempotency_key(st.record.id, key));
  if (!bytes) return std::nullopt;
  auto binding = records::decode_idempotency_record(*bytes);
  if (!binding || binding->expires_at_ms <= st.context.clock->now_ms()) return std::nullopt;
  return binding;
}

/// A request with an Idempotency-Key: waits at the key's owner while its first request is in
/// flight, is answered from the key's binding once bound, and otherwise becomes the first request
/// of a new owner.
caf::response_promise on_keyed(account_self self, keyed_request& request) {
  auto& st = self->state;
  auto promise = self->make_response_promise();
  const auto key = request.claim.key;
  if (auto owner = st.key_owners.find(key); owner != st.key_owners.end()) {
    promise.delegate(owner->second, join_atom::value, std::move(request));
    return promise;
  }
  if (auto binding = stored_binding(self, key)) {
    answer_from_binding(promise, *binding, request);
    return promise;
  }
  auto m = request.what == keyed_request::kind::submit
             ? submit_movement(self, std::move(request.spec), request.trace_id)
             : grant_movement(request.amount, std::move(request.reason));
  m.claim = std::move(request.claim);
  m.owner = spawn_idempotency_owner(self->system(), caf::actor_cast<caf::actor>(self), key);
  st.key_owners.emplace(key, m.owner);
  m.promise = promise;
  st.waiting.push_back(std::move(m));
  start_group(self);
  return promise;
}

/// The key's owner is done: later requests with the key are answered from the store.
void on_key_done(account_self self, const std::string& key) {
  auto& st = self->state;
  auto sender = caf::actor_cast<caf::actor>(self->current_sender());
  if (auto it = st.key_owners.find(key); it != st.key_owners.end() && it->second == sender)
    st.key_owners.erase(it);
  self->send(sender, stop_atom::value);  // after every request already sent to it
}

// -- expiry of idempotency keys ------------------------------------------------------------------

/// Keys looked at in one sweep message, so a large backlog never blocks the account for long.
constexpr std::size_t sweep_batch_max = 1000;

void schedule_sweep(account_self self, std::chrono::milliseconds after) {
  auto& st = self->state;
  if (st.sweep_scheduled) return;
  st.sweep_scheduled = true;
  self->delayed_send(self, std::max(after, std::chrono::milliseconds(1000)), sweep_atom::value);
}

/// Deletes the bindings of expired keys and their index entries, in expiry order. A binding is
/// deleted only if the index entry is its own (a key bound again after expiring has a new one)
/// and no request with the key is in flight.
void sweep_expired_keys(account_self self) {
  auto& st = self->state;
  st.sweep_scheduled = false;
  const auto now = st.context.clock->now_ms();
  const auto prefix = records::account_job_prefix(st.record.id);
  write_batch batch;
  std::size_t visited = 0;
  std::optional<std::int64_t> next_expiry;
  st.context.db->scan(column::idempotency_expiry, prefix,
                      [&](std::string_view index_key, std::string_view) {
                        std::int64_t expires_at = 0;
                        std::string key;
                        if (!records::parse_idempotency_expiry(index_key.substr(prefix.size()),
                                                               expires_at, key)) {
                          batch.erase(column::idempotency_expiry, std::string(index_key));
                          return true;
                        }
                        if (expires_at > now || visited == sweep_batch_max) {
                          next_expiry = expires_at;
                          return false;
                        }
                        ++visited;
                        batch.erase(column::idempotency_expiry, std::string(index_key));
                        if (st.key_owners.count(key)) return true;
                        auto primary = records::idempotency_key(st.record.id, key);
                        auto bytes = st.context.db->get(column::idempotency, primary);
                        auto binding = bytes ? records::decode_idempotency_record(*bytes)
                                             : std::nullopt;
                        if (!binding || binding->expires_at_ms == expires_at)
                          batch.erase(column::idempotency, std::move(primary));
                        return true;
                      });
  if (!batch.ops.empty()) {
    metrics::add(metrics::global().idempotency_keys_expired, visited);
    // Not chained to the ledger's groups: a failed sweep changes nothing and is retried later.
    self->request(st.context.writer, supervised_wait, commit_atom::value, std::move(batch))
      .then([](caf::ok_atom) {}, [](caf::error&) {});
  }
  if (next_expiry)
    schedule_sweep(self, std::chrono::milliseconds(std::max<std::int64_t>(*next_expiry - now, 0)));
}

/// The job's events: those stored with the transitions that have several (runs, a cancel,
/// webhook attempts) and those its record states exactly, which the hot path need not write
/// (queued and its hold at creation; success or failure and the capture or release at the end).
std::vector<job_event> job_timeline(const store& db, const job& j) {
  auto amount = [](std::int64_t credits) { return R"({"amount":)" + std::to_string(credits) + "}"; };
  std::vector<job_event> events{make_event("job.queued", j.created_at_ms, j.trace_id),
                                make_event("hold.placed", j.created_at_ms, j.trace_id,
                                           amount(j.credits_held))};
  db.scan(column::job_events, j.id + "/", [&](std::string_view, std::string_view value) {
    if (auto e = records::decode_event(value)) events.push_back(std::move(*e));
    return true;
  });
  if (j.status == job_status::succeeded || j.status == job_status::failed)
    events.push_back(make_event(event_name(j.status), j.completed_at_ms, j.trace_id,
                                j.error ? R"({"code":")" + j.error->code + R"("})" : "{}"));
  if (j.status == job_status::succeeded && j.credits_used > 0)
    events.push_back(make_event("hold.captured", j.completed_at_ms, j.trace_id,
                                amount(j.credits_used)));
  if (j.credits_refunded > 0)
    events.push_back(make_event("hold.released", j.completed_at_ms, j.trace_id,
                                amount(j.credits_refunded)));
  // In time order; within one millisecond: creation, runs and cancel, the end, then webhooks.
  auto phase = [](const job_event& e) {
    if (e.type == "job.queued" || e.type == "hold.placed") return 0;
    if (e.type.rfind("webhook.", 0) == 0) return 3;
    if (e.type == "job.succeeded" || e.type == "job.failed" || e.type.rfind("hold.", 0) == 0)
      return 2;
    return 1;
  };
  std::stable_sort(events.begin(), events.end(), [&](const job_event& a, const job_event& b) {
    return std::pair(a.at_ms, phase(a)) < std::pair(b.at_ms, phase(b));
  });
  return events;
}

/// Reads a job from the store, if it belongs to this account.
std::optional<job> stored_job(account_self self, const std::string& job_id) {
  auto bytes = self->state.context.db->get(column::jobs, job_id);
  if (!bytes) return std::nullopt;
  auto record = records::decode_job(*bytes);
  if (!record || record->account_id != self->state.record.id) return std::nullopt;
  return record;
}

job_page on_list(account_self self, std::uint32_t limit, const std::string& status,
                 const std::string& cursor) {
  auto& st = self->state;
  auto wanted = parse_status(status);
  job_page page;
  std::string prefix = records::account_job_prefix(st.record.id);
  std::string before = cursor.empty() ? std::string{} : prefix + cursor;
  st.context.db->scan_reverse(column::account_jobs, prefix, before,
                              [&](std::string_view key, std::string_view job_id) {
                                auto record = stored_job(self, std::string(job_id));
                                if (!record || (wanted && record->status != *wanted)) return true;
                                if (page.data.size() == limit) {
                                  page.has_more = true;
                                  return false;
                                }
                                page.next_cursor = std::string(key.substr(prefix.size()));
                                page.data.push_back(std::move(*record));
                                return true;
                              });
  if (!page.has_more) page.next_cursor.clear();
  return page;
}

ledger_page on_ledger(account_self self, std::uint32_t limit, const std::string& cursor) {
  auto& st = self->state;
  ledger_page page;
  std::string prefix = records::account_job_prefix(st.record.id);
  std::string before = cursor.empty() ? std::string{} : prefix + cursor;
  st.context.db->scan_reverse(column::ledger, prefix, before,
                              [&](std::string_view key, std::string_view value) {
                                if (page.data.size() == limit) {
                                  page.has_more = true;
                                  return false;
                                }
                                auto entry = records::decode_ledger_entry(value);
                                if (!entry) return true;
                                page.next_cursor = std::string(key.substr(prefix.size()));
                                page.data.push_back(std::move(*entry));
                                return true;
                              });
  if (!page.has_more) page.next_cursor.clear();
  return page;
}

usage_report on_usage(account_self self, std::int64_t from_ms) {
  auto& st = self->state;
  usage_report report;
  report.from_ms = from_ms;
  report.to_ms = st.context.clock->now_ms();
  std::map<std::string, usage_report::row> by_model, by_day;
  st.context.db->scan_reverse(
    column::ledger, records::account_job_prefix(st.record.id), {},
    [&](std::string_view, std::string_view value) {
      auto entry = records::decode_ledger_entry(value);
      if (!entry) return true;
      if (entry->at_ms < from_ms) return false;
      if (entry->kind != ledger_kind::capture) return true;
      report.credits += entry->amount;
      report.jobs += 1;
      auto& model = by_model[entry->model];
      model.credits += entry->amount;
      model.jobs += 1;
      auto& day = by_day[format_day(entry->at_ms)];
      day.credits += entry->amount;
      day.jobs += 1;
      return true;
    });
  for (auto& [key, row] : by_model) report.by_model.push_back({key, row.credits, row.jobs});
  for (auto& [key, row] : by_day) report.by_day.push_back({key, row.credits, row.jobs});
  return report;
}

caf::result<cancel_result> on_cancel(account_self self, const std::string& job_id) {
  auto actor = live_actor(self, job_id);
  if (!actor) {  // a queued job without an actor yet gets one, which writes the cancel
    auto stored = stored_job(self, job_id);
    if (!stored) return make_error(error_code::not_found, "no job " + job_id);
    if (is_terminal(stored->status))
      return make_error(error_code::cannot_cancel, "job " + job_id + " is already finished");
    actor = start_job(self, std::move(*stored));
  }
  auto promise = self->make_response_promise<cancel_result>();
  return promise.delegate(actor, cancel_atom::value);
}

/// Rebuilds the ledger from the stored balance and the holds of unfinished jobs, and queues the
/// refunds whose write failed before the last stop.
void recover_ledger(account_self self, const std::vector<job>& live, std::vector<job> refunds) {
  auto& st = self->state;
  std::unordered_map<std::string, std::int64_t> holds;
  for (const auto& j : live) holds.emplace(j.id, j.credits_held);
  for (const auto& j : refunds) holds.emplace(j.id, j.credits_held);
  st.ledger = credit_ledger(st.record.balance, std::move(holds),
                            last_seq(*st.context.db, column::ledger, st.record.id));
  if (!st.ledger.consistent())
    logs::get("actors")->critical(
      R"("event":"ledger.inconsistent","account":"{}","held":{},"open_holds":{})", st.record.id,
      st.record.balance.held, st.ledger.open_holds());
  for (auto& j : refunds) {
    j.credits_refunded = j.credits_held;
    movement m;
    m.what = movement::kind::settle;
    m.record = std::move(j);  // its promise stays empty: nobody waits for it
    st.waiting.push_back(std::move(m));
  }
}

caf::behavior account_actor(account_self self, actor_context context, account record,
                            std::vector<job> recovered, std::vector<job> refunds) {
  auto& st = self->state;
  st.context = std::move(context);
  st.record = std::move(record);
  st.durable = st.record.balance;
  auto job_context = st.context;
  if (const auto* plan = st.context.config->find_plan(st.record.plan))
    job_context.max_concurrent_jobs = plan->max_concurrent_jobs;
  st.job_context = std::make_shared<const actor_context>(std::move(job_context));
  st.next_seq = last_seq(*st.context.db, column::account_jobs, st.record.id) + 1;
  recover_ledger(self, recovered, std::move(refunds));
  for (auto& j : recovered) {
    if (j.status == job_status::queued) queue_job(self, j);
    else start_job(self, std::move(j));  // its run was lost: the actor queues it again
  }
  // Keys bound before the last stop still expire: sweep once the first of them is due.
  st.context.db->scan(column::idempotency_expiry, records::account_job_prefix(st.record.id),
                      [&](std::string_view, std::string_view) {
                        schedule_sweep(self, std::chrono::milliseconds(0));
                        return false;
                      });
  self->set_down_handler([=](caf::down_msg& down) { on_job_down(self, down); });
  start_group(self);
  return {
    [=](submit_atom, job_spec& spec, const std::string& trace_id,
        idempotency_claim& claim) -> caf::response_promise {
      if (claim.key.empty())
        return enqueue_movement(self, submit_movement(self, std::move(spec), trace_id));
      keyed_request request;
      request.claim = std::move(claim);
      request.spec = std::move(spec);
      request.trace_id = trace_id;
      return on_keyed(self, request);
    },
    [=](keyed_atom, keyed_request& request) { return on_keyed(self, request); },
    [=](key_done_atom, const std::string& key) { on_key_done(self, key); },
    [=](sweep_atom) { sweep_expired_keys(self); },
    [=](settle_atom, job& next) {
      movement m;
      m.what = movement::kind::settle;
      m.record = std::move(next);
      return enqueue_movement(self, std::move(m));
    },
    [=](grant_atom, std::int64_t amount, std::string& reason,
        idempotency_claim& claim) -> caf::response_promise {
      if (claim.key.empty()) return enqueue_movement(self, grant_movement(amount, std::move(reason)));
      keyed_request request;
      request.what = keyed_request::kind::grant;
      request.claim = std::move(claim);
      request.amount = amount;
      request.reason = std::move(reason);
      return on_keyed(self, request);
    },
    [=](cancel_atom, const std::string& job_id) { return on_cancel(self, job_id); },
    /// `wait_ms` > 0: Prefer: wait, held by a live job until it ends or the wait runs out.
    [=](get_job_atom, const std::string& job_id, std::uint32_t wait_ms) -> caf::result<job> {
      auto& st = self->state;
      std::optional<job> stored;
      auto actor = live_actor(self, job_id);
      if (!actor) {
        stored = stored_job(self, job_id);
        if (!stored) return make_error(error_code::not_found, "no job " + job_id);
        if (wait_ms > 0 && !is_terminal(stored->status))
          actor = start_job(self, std::move(*stored));  // its actor holds the wait
      }
      if (actor) {
        auto promise = self->make_response_promise<job>();
        return promise.delegate(actor, get_job_atom::value, wait_ms);
      }
      auto promise = self->make_response_promise<job>();
      deliver_with_position(self, st.context, std::move(*stored), promise);
      return promise;
    },
    [=](dispatch_atom, const std::string& job_id, const std::string& device_id,
        caf::actor& device) {
      auto actor = live_actor(self, job_id);
      if (!actor)
        if (auto stored = stored_job(self, job_id); stored && !is_terminal(stored->status))
          actor = start_job(self, std::move(*stored));
      if (actor)
        self->send(actor, dispatch_atom::value, job_id, device_id, std::move(device));
      else  // it finished meanwhile (a cancel): the slot goes back
        self->send(self->state.context.scheduler, release_atom::value, device_id, job_id, false);
    },
    [=](list_jobs_atom, std::uint32_t limit, const std::string& status,
        const std::string& cursor) { return on_list(self, limit, status, cursor); },
    [=](ledger_atom, std::uint32_t limit, const std::string& cursor) {
      return on_ledger(self, limit, cursor);
    },
    [=](usage_atom, std::int64_t from_ms) { return on_usage(self, from_ms); },
    [=](estimate_atom, std::int64_t credits) {
      const auto& b = self->state.durable;
      return estimate{credits, b.available, b.available >= credits};
    },
    [=](balance_atom) { return self->state.durable; },
    [=](tick_atom) {
      auto& s = self->state;
      s.retry_scheduled = false;
      for (auto& m : s.retrying) s.waiting.push_back(std::move(m));
      s.retrying.clear();
      start_group(self);
    },
    [=](get_account_atom) {
      auto shown = self->state.record;
      shown.balance = self->state.durable;
      return shown;
    },
    [=](secret_atom) {
      const auto& r = self->state.record;
      auto now = self->state.context.clock->now_ms();
      bool previous = !r.previous_webhook_secret.empty() && now < r.previous_secret_until_ms;
      return webhook_secret_view{r.webhook_secret, previous ? r.previous_webhook_secret : "",
                                 previous ? r.previous_secret_until_ms : 0};
    },
    [=](rotate_atom) {
      movement m;
      m.what = movement::kind::rotate;
      return enqueue_movement(self, std::move(m));
    },
    [=](events_atom, const std::string& job_id) -> caf::result<std::vector<job_event>> {
      auto record = stored_job(self, job_id);
      if (!record) return make_error(error_code::not_found, "no job " + job_id);
      return job_timeline(*self->state.context.db, *record);
    },
    [=](deliveries_atom, const std::string& job_id) -> caf::result<std::vector<delivery>> {
      if (!stored_job(self, job_id)) return make_error(error_code::not_found, "no job " + job_id);
      std::vector<delivery> found;
      self->state.context.db->scan(column::deliveries, job_id + "/",
                                   [&](std::string_view, std::string_view value) {
                                     if (auto d = records::decode_delivery(value))
                                       found.push_back(std::move(*d));
                                     return true;
                                   });
      return found;
    },
    [=](redeliver_atom, const std::string& job_id) -> caf::result<delivery> {
      auto record = stored_job(self, job_id);
      if (!record) return make_error(error_code::not_found, "no job " + job_id);
      if (record->spec.webhook_url.empty())
        return make_error(error_code::invalid_request, "job " + job_id + " has no webhook_url",
                          "webhook_url");
      if (!is_terminal(record->status) || self->state.live_jobs.count(job_id))
        return make_error(error_code::invalid_request,
                          "job " + job_id + " has not finished; its event is sent when it does");
      auto promise = self->make_response_promise<delivery>();
      return promise.delegate(self->state.context.deliveries, redeliver_atom::value,
                              std::move(*record));
    },
    [=](job_done_atom, const std::string& job_id) {
      auto it = self->state.live_jobs.find(job_id);
      if (it == self->state.live_jobs.end()) return;
      self->demonitor(it->second);
      self->send(it->second, stop_atom::value);  // after every read already routed to it
      self->state.live_jobs.erase(it);
    },
  };
}

}  // namespace

caf::actor spawn_account(caf::actor_system& system, const actor_context& context, account record,
                         std::vector<job> recovered, std::vector<job> refunds) {
  return system.spawn(account_actor, context, std::move(record), std::move(recovered),
                      std::move(refunds));
}

}  // namespace kiln
