// The API front end: authenticates, validates, sends one message into the actor system and
// renders the answer. It never touches RocksDB or credit rules.
#pragma once

#include "base/clock.hpp"
#include "base/faults.hpp"
#include "http/message.hpp"
#include "models/catalog.hpp"
#include "protocol/directory.hpp"
#include "protocol/scheduler.hpp"
#include "protocol/store.hpp"

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace kiln {
class bridge;
struct settings;
}  // namespace kiln

namespace kiln::outbound {
class resolver_pool;
}

namespace kiln::http {

struct api_context {
  kiln::bridge* actors = nullptr;
  directory_actor directory;
  scheduler_actor scheduler;
  std::vector<store_reader_actor> readers;  ///< listings, ledger, usage, timelines
  const catalog* models = nullptr;
  const settings* config = nullptr;
  clock_ptr clock;
  std::string url_signing_key;  ///< HMAC key of signed file URLs
  std::string files_dir;
  std::function<std::string()> metrics_text;     ///< store and runtime counters, Prometheus text
  outbound::resolver_pool* resolver = nullptr;   ///< looks up webhook_url hosts at submit
  faults_ptr faults;                             ///< GET|PUT /admin/v1/faults
  store_writer_actor writer;                     ///< POST /admin/v1/snapshots
  std::function<store_status()> storage_status;  ///< whether the store takes writes (readyz)
};

class api {
public:
  explicit api(api_context context);
  ~api();
  void handle(request&& message, responder reply);
  /// The answer for a request rejected by the server before routing (413, 431, 400).
  static response limit_response(int status);

  struct impl;

private:
  std::unique_ptr<impl> impl_;
};

}  // namespace kiln::http
