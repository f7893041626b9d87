// Output retention's sweeper; see the header.
#include "actors/retention_actor.hpp"

#include "base/assert.hpp"
#include "base/logging.hpp"
#include "config/limits.hpp"
#include "persistence/output_expiry.hpp"
#include "persistence/output_files.hpp"

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <spdlog/spdlog.h>

#include <vector>

namespace kiln {
namespace {

using sweep_promise = caf::typed_response_promise<std::uint64_t>;

struct retention_state {
  actor_context node;
  directory_actor directory;
  std::string files_dir;
  bool sweeping = false;
  std::vector<output_expiry::entry> due;  ///< this sweep's jobs, oldest first
  std::size_t next = 0;                   ///< index into `due` of the next job to expire
  std::uint64_t expired = 0;              ///< jobs this sweep expired
  std::vector<sweep_promise> answering;   ///< asked for this sweep
  std::vector<sweep_promise> waiting;     ///< asked for during it: they get the next one
  static inline const char* name = "retention";
};

using retention_self = retention_actor::stateful_pointer<retention_state>;

void start_sweep(retention_self self);

/// The sweep is over: its askers get its count, and those who asked during it a sweep of theirs.
void finish_sweep(retention_self self) {
  auto& st = self->state;
  KILN_ASSERT(st.sweeping);
  if (st.expired > 0)
    logs::get("actors")->info(R"("event":"retention.swept","jobs_expired":{})", st.expired);
  for (auto& promise : st.answering) promise.deliver(st.expired);
  st.answering.clear();
  st.due.clear();
  st.sweeping = false;
  if (st.waiting.empty()) return;
  st.answering = std::move(st.waiting);
  st.waiting.clear();
  start_sweep(self);
}

/// Expires the sweep's next due job, then the one after it, until none is left.
void expire_next(retention_self self) {
  auto& st = self->state;
  if (st.next == st.due.size()) return finish_sweep(self);
  const auto& due = st.due[st.next++];
  auto remover = caf::actor_cast<file_remover_actor>(self);
  self
    ->request(st.directory, st.node.request_timeout * 3, expire_atom::value, due.account_id,
              due.job_id, remover)
    .then(
      [=](const job& expired) {
        KILN_ASSERT(expired.outputs_expired_at_ms != 0 || expired.status != job_status::succeeded ||
                    expired.outputs.empty());
        self->state.expired += 1;
        expire_next(self);
      },
      [=](caf::error& failure) {
        const auto& entry = self->state.due[self->state.next - 1];
        if (!has_code(failure, error_code::not_found)) {  // the next sweep tries again
          logs::get("actors")->warn(R"("event":"retention.expire_failed","job":"{}","error":"{}")",
                                    entry.job_id, logs::json_text(describe(failure)));
          return expire_next(self);
        }
        // A key whose job (or account) is not there keeps nothing: it goes.
        write_batch batch;
        batch.erase(column::output_expiry, entry.key);
        self
          ->request(self->state.node.writer, supervised_wait, commit_atom::value, std::move(batch))
          .then([=](caf::ok_atom) { expire_next(self); }, [=](caf::error&) { expire_next(self); });
      });
}

void start_sweep(retention_self self) {
  auto& st = self->state;
  KILN_ASSERT(!st.sweeping);
  st.sweeping = true;
  st.expired = 0;
  st.next = 0;
  st.due.clear();
  auto days = st.node.config->outputs.retention_days;
  if (days == 0) return finish_sweep(self);  // kept forever
  auto now = st.node.clock->now_ms();
  auto completed_at_ms_max = now - static_cast<std::int64_t>(days) * 86'400'000;
  if (auto error = output_expiry::due(*st.node.db, completed_at_ms_max,
                                      limits::retention_sweep_jobs_max, st.due)) {
    logs::get("actors")->warn(R"("event":"retention.read_failed","error":"{}")",
                              logs::json_text(describe(error)));
    st.due.clear();
  }
  for (const auto& entry : st.due) KILN_ASSERT(entry.completed_at_ms <= completed_at_ms_max);
  expire_next(self);
}

void on_sweep(retention_self self, sweep_promise promise) {
  auto& st = self->state;
  if (st.sweeping) {
    st.waiting.push_back(std::move(promise));
    return;
  }
  st.answering.push_back(std::move(promise));
  start_sweep(self);
}

caf::result<caf::ok_atom> on_delete(retention_self self, const std::vector<std::string>& files) {
  for (const auto& name : files)
    if (auto error = output_files::remove(self->state.files_dir, name)) {
      logs::get("actors")->warn(R"("event":"retention.delete_failed","file":"{}","error":"{}")",
                                name, logs::json_text(describe(error)));
      return error;
    }
  return caf::ok_atom::value;
}

retention_actor::behavior_type retention(retention_self self, actor_context context,
                                         directory_actor directory, std::string files_dir) {
  auto& st = self->state;
  st.node = std::move(context);
  st.directory = std::move(directory);
  st.files_dir = std::move(files_dir);
  self->send(self, tick_atom::value);
  return {
    [=](sweep_atom) {
      auto promise = self->make_response_promise<std::uint64_t>();
      on_sweep(self, promise);
      return promise;
    },
    [=](tick_atom) {
      if (!self->state.sweeping) start_sweep(self);
      self->delayed_send(self, limits::retention_sweep_interval, tick_atom::value);
    },
    [=](delete_atom, const std::vector<std::string>& files) { return on_delete(self, files); },
  };
}

}  // namespace

retention_actor spawn_retention(caf::actor_system& system, const actor_context& context,
                                directory_actor directory, std::string files_dir) {
  return system.spawn<caf::detached>(retention, context, std::move(directory),
                                     std::move(files_dir));
}

}  // namespace kiln
