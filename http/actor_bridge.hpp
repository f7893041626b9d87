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
