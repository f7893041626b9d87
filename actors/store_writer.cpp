// The store writer actor. Commits are handed to the store's committer thread; its callback comes
// back as a `committed` message, and the matching response promise is delivered here.
#include "actors/store_writer.hpp"

#include "actors/protocol.hpp"
#include "persistence/store.hpp"
#include "base/logging.hpp"

#include <spdlog/spdlog.h>

#include <unordered_map>

namespace kiln {
namespace {

struct store_writer_state {
  std::unordered_map<std::uint64_t, caf::response_promise> pending;
  std::uint64_t next_token = 0;
  static inline const char* name = "store_writer";
};

caf::behavior store_writer(caf::stateful_actor<store_writer_state>* self, store* db) {
  self->set_default_handler(caf::print_and_drop);
  return {
    [=](commit_atom, write_batch& batch) {
      auto promise = self->make_response_promise();
      if (promise.async()) {  // a plain send: nobody waits, so only a failure is worth a line
        db->commit_async(std::move(batch), [](bool ok, const std::string& error) {
          if (!ok)
            logs::get("store")->warn(R"("event":"store.unawaited_write_failed","error":"{}")",
                                     logs::json_text(error));
        });
        return promise;
      }
      auto token = self->state.next_token++;
      self->state.pending.emplace(token, promise);
      auto me = caf::actor_cast<caf::actor>(self);
      db->commit_async(std::move(batch), [me, token](bool ok, const std::string& error) {
        caf::anon_send(me, committed_atom::value, token, ok, error);
      });
      return promise;
    },
    // A consistent copy of the database while it runs: RocksDB hard-links the SST files and
    // copies the live WAL, so it takes milliseconds whatever the size.
    [=](snapshot_atom, const std::string& directory) -> caf::result<caf::ok_atom> {
      std::string error;
      if (!db->checkpoint(directory, error))
        return make_error(error_code::unavailable, "snapshot failed: " + error);
      return caf::ok_atom::value;
    },
    [=](committed_atom, std::uint64_t token, bool ok, const std::string& error) {
      auto it = self->state.pending.find(token);
      if (it == self->state.pending.end()) return;
      if (ok) it->second.deliver(caf::ok_atom::value);
      else it->second.deliver(make_error(error_code::unavailable, "storage write failed: " + error));
      self->state.pending.erase(it);
    },
  };
}

}  // namespace

caf::actor spawn_store_writer(caf::actor_system& system, store* db) {
  return system.spawn(store_writer, db);
}

}  // namespace kiln
