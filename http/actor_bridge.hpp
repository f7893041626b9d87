// The bridge from non-actor threads (Beast's io threads) into the actor system. A caller posts a
// closure; a bridge actor runs it with itself as `self`, so the closure can
// `request(...).then(...)` like any actor and hand the answer back through a callback. No thread
// ever blocks on an actor.
#pragma once

#include <caf/fwd.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <vector>

namespace kiln {

using bridge_task = std::function<void(caf::event_based_actor* self)>;

/// The bridge actor this thread is running a task or continuation of right now, or null: work
/// that would be posted to a bridge actor can run in it directly instead (one hop fewer).
caf::event_based_actor* current_bridge_actor();

/// Marks this thread as running in `self` until the scope ends (nests).
class bridge_scope {
public:
  explicit bridge_scope(caf::event_based_actor* self);
  ~bridge_scope();
  bridge_scope(const bridge_scope&) = delete;
  bridge_scope& operator=(const bridge_scope&) = delete;

private:
  caf::event_based_actor* previous_;
};

class bridge {
public:
  /// Spawns `actor_count` bridge actors; tasks are spread over them round-robin.
  bridge(caf::actor_system& system, std::size_t actor_count);
  ~bridge();
  void post(bridge_task task);
  /// Ends the bridge actors (before the actor system shuts down).
  void stop();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace kiln
