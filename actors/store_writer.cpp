// The store writer actor. Commits are handed to the store's committer thread; its callback comes
// back as a `committed` message, and the matching response promise is delivered here.
#include "actors/store_writer.hpp"

#include "base/assert.hpp"
#include "base/logging.hpp"
#include "persistence/store.hpp"

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <spdlog/spdlog.h>

#include <unordered_map>

namespace kiln {
namespace {

struct store_writer_state {
  std::unordered_map<std::uint64_t, caf::typed_response_promise<caf::ok_atom>> pending;
  std::uint64_t next_token = 0;
  static inline const char* name = "store_writer";
};

using writer_self = store_writer_actor::stateful_pointer<store_writer_state>;

caf::result<caf::ok_atom> on_commit(writer_self self, store* db, write_batch& batch) {
  auto promise = self->make_response_promise<caf::ok_atom>();
  if (static_cast<caf::response_promise&>(promise)
        .async()) {  // a plain send: nobody waits, so only a failure is worth a line
    db->commit_async(std::move(batch), [](const caf::error& failure) {
      if (failure)
        logs::get("store")->warn(R"("event":"store.unawaited_write_failed","error":"{}")",
                                 logs::json_text(describe(failure)));
    });
    return promise;
  }
  auto token = self->state.next_token++;
  self->state.pending.emplace(token, promise);
  auto me = caf::actor_cast<store_writer_actor>(self);
  db->commit_async(std::move(batch), [me, token](const caf::error& failure) {
    caf::anon_send(me, committed_atom::value, token, failure);
  });
  return promise;
}

void on_committed(writer_self self, std::uint64_t token, const caf::error& failure) {
  auto it = self->state.pending.find(token);
  KILN_ASSERT_MSG(it != self->state.pending.end(), "every commit is reported exactly once");
  if (failure) it->second.deliver(failure);
  else it->second.deliver(caf::ok_atom::value);
  self->state.pending.erase(it);
}

store_writer_actor::behavior_type store_writer(writer_self self, store* db) {
  return {
    [=](commit_atom, write_batch& batch) { return on_commit(self, db, batch); },
    // A consistent copy of the database while it runs: RocksDB hard-links the SST files and
    // copies the live WAL, so it takes milliseconds whatever the size.
    [=](snapshot_atom, const std::string& directory) -> caf::result<caf::ok_atom> {
      if (auto failure = db->checkpoint(directory)) return failure;
      return caf::ok_atom::value;
    },
    [=](committed_atom, std::uint64_t token, const caf::error& failure) {
      on_committed(self, token, failure);
    },
  };
}

}  // namespace

store_writer_actor spawn_store_writer(caf::actor_system& system, store* db) {
  return system.spawn(store_writer, db);
}

}  // namespace kiln
