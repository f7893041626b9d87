// The device-link actor (protocol/device_link.hpp): one per node, holding Killa's device links in
// memory. A restart drops them: a link lives 10 minutes and holds no credits, and a tool whose
// link is gone starts a new one.
#pragma once

#include "base/clock.hpp"
#include "protocol/device_link.hpp"
#include "protocol/directory.hpp"

#include <caf/fwd.hpp>

#include <chrono>
#include <cstddef>

namespace kiln {

struct device_link_options {
  /// How long a link waits for approval and its claim, from its start.
  std::chrono::milliseconds ttl{std::chrono::minutes(10)};
  /// How often a tool should poll (the `interval` it is told).
  std::chrono::seconds interval{5};
  /// The most links held at once; a start beyond it is 503 unavailable. Expired and claimed links
  /// still remembered are forgotten first to make room.
  std::size_t max_links = 1000;
  /// How long an expired or claimed link is remembered after its expiry, so that a late poll is
  /// told `expired` or `claimed` rather than `not_found`.
  std::chrono::milliseconds retention{std::chrono::minutes(10)};
  /// Real time between the actor's sweeps (it also sweeps when a start finds no room).
  std::chrono::milliseconds sweep_interval{std::chrono::seconds(30)};
};

/// Spawns the node's device-link actor. `directory` revokes a key that was approved but never
/// claimed before its link expired (none: nothing is revoked, for tests).
device_link_actor spawn_device_links(caf::actor_system& system, clock_ptr clock,
                                     directory_actor directory, device_link_options options = {});

}  // namespace kiln
