// What every actor is given at spawn: the store and its writer, the scheduler, the deliveries,
// the clock, the settings and the catalog. Plain handles and pointers that outlive every actor.
#pragma once

#include "base/clock.hpp"
#include "base/faults.hpp"
#include "config/settings.hpp"
#include "models/catalog.hpp"
#include "protocol/deliveries.hpp"
#include "protocol/scheduler.hpp"
#include "protocol/store.hpp"

#include <chrono>
#include <cstdint>
#include <string>

namespace kiln {

class store;
namespace outbound {
class http_client;
}

struct actor_context {
  store* db = nullptr;
  store_writer_actor writer;    ///< durable commits as request/response
  scheduler_actor scheduler;    ///< queued jobs and device slots
  deliveries_actor deliveries;  ///< webhook deliveries: told of each one once it is written
  clock_ptr clock;
  faults_ptr faults = std::make_shared<runtime_faults>();  ///< shared by the whole node
  const settings* config = nullptr;
  const catalog* models = nullptr;
  /// Timeout of requests to actors that may be busy or gone (positions, device runs use their
  /// own); a missing reply becomes 503.
  std::chrono::milliseconds request_timeout{10000};
  /// Overrides every model's timeout_seconds when set (tests).
  std::chrono::milliseconds run_timeout{0};
  /// Webhooks: the outbound client, where output links in events point, and their signing key.
  outbound::http_client* webhook_client = nullptr;
  std::string public_url;
  std::string url_signing_key;
};

}  // namespace kiln
