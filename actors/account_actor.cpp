// Account actor: submit, get, list and estimate for one account's jobs.
#include "actors/account_actor.hpp"

#include "actors/job_actor.hpp"
#include "actors/protocol.hpp"
#include "models/crypto.hpp"
#include "persistence/records.hpp"
#include "runtime/logging.hpp"
#include "runtime/metrics.hpp"

#include <spdlog/spdlog.h>

#include <unordered_map>

namespace kiln {
namespace {

struct account_state {
  account record;
  actor_context context;
  std::shared_ptr<const actor_context> job_context;  ///< one copy for all of this account's jobs
  std::unordered_map<std::string, caf::actor> live_jobs;
  std::uint64_t next_seq = 1;
  static inline const char* name = "account";
};

using account_self = caf::stateful_actor<account_state>*;

std::uint64_t last_seq(const store& db, const std::string& account_id) {
  std::uint64_t seq = 0;
  db.scan_reverse(column::account_jobs, records::account_job_prefix(account_id), {},
                  [&](std::string_view key, std::string_view) {
                    seq = std::stoull(std::string(key.substr(key.rfind('/') + 1)), nullptr, 16);
                    return false;
                  });
  return seq;
}

void start_job(account_self self, job record);

caf::result<job> on_submit(account_self self, job_spec& spec, const std::string& trace_id) {
  auto& st = self->state;
  auto now = st.context.clock->now_ms();
  auto record = std::make_shared<job>();
  record->id = crypto::make_id("job_", now);
  record->account_id = st.record.id;
  record->seq = st.next_seq++;
  record->spec = std::move(spec);
  record->credits_held = record->spec.cost;
  record->trace_id = trace_id;
  record->created_at_ms = now;
  auto promise = self->make_response_promise<job>();
  self->request(st.context.writer, supervised_wait, commit_atom::value,
                records::job_batch(*record, true))
    .then(
      [=](caf::ok_atom) mutable {
        start_job(self, *record);
        metrics::add(metrics::global().jobs_created);
        promise.deliver(std::move(*record));
      },
      [=](caf::error& error) mutable { promise.deliver(std::move(error)); });
  return promise;
}

/// Spawns and supervises the actor of `record`: a crash rebuilds it from its last durable state.
void start_job(account_self self, job record) {
  auto& st = self->state;
  auto id = record.id;
  auto actor = spawn_job(self->system(), st.job_context, std::move(record),
                         caf::actor_cast<caf::actor>(self));
  self->monitor(actor);
  st.live_jobs[id] = actor;
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
    auto bytes = st.context.db->get(column::jobs, id);
    auto record = bytes ? records::decode_job(*bytes) : std::nullopt;
    if (record && !is_terminal(record->status)) start_job(self, std::move(*record));
    return;
  }
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

caf::behavior account_actor(account_self self, actor_context context, account record,
                            std::vector<job> recovered) {
  auto& st = self->state;
  st.context = std::move(context);
  st.record = std::move(record);
  st.job_context = std::make_shared<const actor_context>(st.context);
  st.next_seq = last_seq(*st.context.db, st.record.id) + 1;
  for (auto& j : recovered) start_job(self, std::move(j));
  self->set_down_handler([=](caf::down_msg& down) { on_job_down(self, down); });
  return {
    [=](submit_atom, job_spec& spec, const std::string& trace_id) {
      return on_submit(self, spec, trace_id);
    },
    [=](get_job_atom, const std::string& job_id) -> caf::result<job> {
      auto it = self->state.live_jobs.find(job_id);
      if (it != self->state.live_jobs.end()) {
        auto promise = self->make_response_promise<job>();
        return promise.delegate(it->second, get_job_atom::value);
      }
      if (auto stored = stored_job(self, job_id)) return std::move(*stored);
      return make_error(error_code::not_found, "no job " + job_id);
    },
    [=](list_jobs_atom, std::uint32_t limit, const std::string& status,
        const std::string& cursor) { return on_list(self, limit, status, cursor); },
    [=](estimate_atom, std::int64_t credits) {
      const auto& b = self->state.record.balance;
      return estimate{credits, b.available, b.available >= credits};
    },
    [=](get_account_atom) { return self->state.record; },
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
                         std::vector<job> recovered) {
  return system.spawn(account_actor, context, std::move(record), std::move(recovered));
}

}  // namespace kiln
