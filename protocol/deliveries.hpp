// Webhook deliveries. The deliveries actor starts one delivery actor per pending delivery: for
// each one written with a job's terminal transition, for those found at start-up, and for
// redeliveries. Each delivery actor renders, signs and sends its event, records every attempt
// durably and sleeps until the next attempt its retry policy allows.
#pragma once

#include "protocol/common.hpp"

#include <cstdint>
#include <string>

namespace kiln {

using deliveries_actor = caf::typed_actor<
  /// The server is listening: the base of output links in events. Deliveries start after it.
  caf::reacts_to<register_atom, std::string>,
  /// A delivery already written to the store: start it.
  caf::reacts_to<deliver_atom, delivery>,
  /// A new delivery of the job's terminal event, written before it is answered.
  caf::replies_to<redeliver_atom, job>::with<delivery>,
  /// Delivery actors alive now.
  caf::replies_to<stats_atom>::with<std::uint64_t>>;

}  // namespace kiln
