// Start-up, recovery, serving and shutdown of one Kiln node.
#include "runtime/node.hpp"

#include "devices/device_actor.hpp"
#include "actors/delivery_actor.hpp"
#include "actors/directory_actor.hpp"
#include "actors/protocol.hpp"
#include "actors/scheduler_actor.hpp"
#include "actors/store_writer.hpp"
#include "http/api.hpp"
#include "http/server.hpp"
#include "outbound/http_client.hpp"
#include "outbound/target.hpp"
#include "models/crypto.hpp"
#include "persistence/records.hpp"
#include "persistence/recovery.hpp"
#include "http/actor_bridge.hpp"
#include "base/logging.hpp"
#include "base/metrics.hpp"
#include "devices/nvml.hpp"

#include <spdlog/spdlog.h>

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

namespace kiln {
namespace {

/// The HMAC key of signed file URLs: made once per data directory and kept in the store.
std::string url_signing_key(store& db) {
  if (auto key = db.get(column::meta, records::meta_url_signing_key)) return *key;
  std::string key = crypto::random_bytes(32);
  write_batch batch;
  batch.put(column::meta, std::string(records::meta_url_signing_key), key);
  std::string error;
  db.commit(std::move(batch), error);
  return key;
}

std::optional<catalog> load_catalog(const settings& config, std::string& error) {
  if (config.catalog_file.empty()) return catalog::builtin();
  std::ifstream file(config.catalog_file);
  if (!file) {
    error = "catalog: cannot read " + config.catalog_file;
    return std::nullopt;
  }
  std::stringstream text;
  text << file.rdbuf();
  return catalog::parse(text.str(), error);
}

/// Resident set size from /proc/self/statm: one small read, no allocator locks (mallinfo2 walks
/// every arena's free lists under its lock, which stalled allocating threads at 10 scrapes/s).
std::uint64_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::uint64_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

std::string metrics_text(const store& db, const http::server& server) {
  auto stats = db.stats();
  std::ostringstream out;
  out << "# TYPE kiln_store_batches_total counter\nkiln_store_batches_total " << stats.batches
      << "\n# TYPE kiln_store_syncs_total counter\nkiln_store_syncs_total " << stats.groups
      << "\n# TYPE kiln_store_failures_total counter\nkiln_store_failures_total "
      << stats.failures << "\n# TYPE kiln_http_in_flight gauge\nkiln_http_in_flight "
      << server.in_flight() << "\n# TYPE kiln_rocksdb_memtable_bytes gauge\n"
      << "kiln_rocksdb_memtable_bytes " << stats.memtable_bytes
      << "\n# TYPE kiln_rocksdb_block_cache_bytes gauge\nkiln_rocksdb_block_cache_bytes "
      << stats.block_cache_bytes << "\n# TYPE process_resident_memory_bytes gauge\n"
      << "process_resident_memory_bytes " << resident_bytes() << "\n";
  const auto& jobs = metrics::global();
  out << "# TYPE kiln_jobs_created_total counter\nkiln_jobs_created_total " << jobs.jobs_created
      << "\n# TYPE kiln_jobs_succeeded_total counter\nkiln_jobs_succeeded_total "
      << jobs.jobs_succeeded << "\n# TYPE kiln_jobs_failed_total counter\nkiln_jobs_failed_total "
      << jobs.jobs_failed << "\n# TYPE kiln_job_attempts_failed_total counter\n"
      << "kiln_job_attempts_failed_total " << jobs.job_attempts_failed
      << "\n# TYPE kiln_idempotent_replays_total counter\nkiln_idempotent_replays_total "
      << jobs.idempotent_replays
      << "\n# TYPE kiln_idempotency_keys_expired_total counter\n"
      << "kiln_idempotency_keys_expired_total " << jobs.idempotency_keys_expired
      << "\n# TYPE kiln_webhook_attempts_total counter\nkiln_webhook_attempts_total "
      << jobs.webhook_attempts
      << "\n# TYPE kiln_webhooks_delivered_total counter\nkiln_webhooks_delivered_total "
      << jobs.webhooks_delivered
      << "\n# TYPE kiln_webhooks_failed_total counter\nkiln_webhooks_failed_total "
      << jobs.webhooks_failed << "\n# TYPE kiln_job_actors gauge\nkiln_job_actors "
      << jobs.job_actors << "\n";
  return out.str();
}

/// Creates and prints the demo account on the first start of a data directory.
void create_demo_account(caf::actor_system& system, const caf::actor& directory, store& db) {
  if (db.get(column::meta, records::meta_demo_account)) return;
  caf::scoped_actor self{system};
  self->request(directory, std::chrono::seconds(30), create_account_atom::value,
                std::string("demo"), std::string("pro"), std::int64_t{1000})
    .receive(
      [&](account_created& created) {
        std::printf("demo account %s (plan pro, 1000 credits)\ndemo api key: %s\n",
                    created.account.id.c_str(), created.api_key_plain.c_str());
        std::fflush(stdout);
        write_batch batch;
        batch.put(column::meta, std::string(records::meta_demo_account), created.account.id);
        std::string error;
        db.commit(std::move(batch), error);
      },
      [&](caf::error& error) {
        logs::get("runtime")->error(R"("event":"demo_account.failed","error":"{}")",
                                    logs::json_text(system.render(error)));
      });
}

/// Supervises a singleton actor (directory, scheduler, store writer, device). None of them ends
/// before shutdown unless something is badly wrong, and their state is rebuilt from the store at
/// start, so the process stops with a distinct exit code and the service manager restarts it:
/// recovery is the restart path. Job actors are supervised by their account actor instead.
void supervise(const caf::actor& actor, std::string role) {
  actor->attach_functor([role](const caf::error& reason) {
    logs::get("runtime")->critical(R"("event":"actor.down","actor":"{}","reason":"{}")", role,
                                   logs::json_text(caf::to_string(reason)));
    spdlog::shutdown();
    std::_Exit(70);
  });
}

/// Sends each GPU's memory and utilization to the scheduler every two seconds, for
/// GET /admin/v1/devices.
caf::behavior gpu_telemetry(caf::event_based_actor* self, const nvml::library* gpus,
                            caf::actor scheduler) {
  self->send(self, tick_atom::value);
  return {[=](tick_atom) {
    std::string error;
    for (const auto& gpu : gpus->list(error)) {
      device_view view;
      view.id = "gpu-" + std::to_string(gpu.index);
      view.gpu_name = gpu.name;
      view.gpu_uuid = gpu.uuid;
      view.memory_total_bytes = gpu.memory_total_bytes;
      view.memory_used_bytes = gpu.memory_used_bytes;
      view.utilization_percent = gpu.utilization_percent;
      self->send(scheduler, devices_atom::value, std::move(view));
    }
    self->delayed_send(self, std::chrono::seconds(2), tick_atom::value);
  }};
}

}  // namespace

int list_gpus() {
  std::string error;
  auto gpus = nvml::library::open(error);
  if (!gpus) {
    std::fprintf(stderr, "kiln: %s\n", error.c_str());
    return 1;
  }
  auto found = gpus->list(error);
  std::printf("%s", nvml::describe(found).c_str());
  if (!error.empty()) std::fprintf(stderr, "kiln: %s\n", error.c_str());
  if (found.empty()) std::fprintf(stderr, "kiln: NVML found no GPU it may use\n");
  return found.empty() ? 1 : 0;
}

int run_node(const settings& configured, const std::string& log_level) {
  logs::init(log_level);
  auto log = logs::get("runtime");
  settings config = configured;
  // "devices": "auto": one builtin-executor device per GPU NVML finds; without a driver, the
  // configured defaults, and a line saying why.
  std::unique_ptr<nvml::library> gpus;
  if (config.devices_auto) {
    std::string why;
    gpus = nvml::library::open(why);
    auto found = gpus ? gpus->list(why) : std::vector<nvml::gpu>{};
    if (found.empty()) {
      std::fprintf(stderr, "kiln: devices \"auto\": %s; starting with the built-in devices\n",
                   why.empty() ? "NVML found no GPU" : why.c_str());
      gpus.reset();
    } else {
      config.devices.clear();
      for (const auto& gpu : found) {
        device_settings device;
        device.id = "gpu-" + std::to_string(gpu.index);
        device.executor = "builtin";
        device.slots = 1;
        config.devices.push_back(std::move(device));
      }
      std::printf("devices \"auto\" found %zu GPU(s):\n%s", found.size(),
                  nvml::describe(found).c_str());
      std::fflush(stdout);
    }
  }
  // Signals are taken by sigwait below; every thread started from here on inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  std::string error;
  auto models = load_catalog(config, error);
  if (!models) {
    std::fprintf(stderr, "kiln: %s\n", error.c_str());
    return 2;
  }
  auto db = store::open(config.data_dir, config.durability, error);
  if (!db) {
    std::fprintf(stderr, "kiln: %s\n", error.c_str());
    return 1;
  }
  std::string files_dir = config.data_dir + "/files";
  std::filesystem::create_directories(files_dir);
  auto started = std::chrono::steady_clock::now();
  auto recovered = recover(*db, [&](std::size_t scanned) {
    log->info(R"("event":"recovery.progress","jobs_scanned":{})", scanned);
  });
  log->info(R"("event":"recovery.done","accounts":{},"keys":{},"jobs_scanned":{},"duration_ms":{})",
            recovered.accounts.size(), recovered.keys.size(), recovered.jobs_scanned,
            std::chrono::duration_cast<std::chrono::milliseconds>(
              std::chrono::steady_clock::now() - started).count());

  caf::actor_system_config caf_config;
  caf_config.set("scheduler.max-threads", static_cast<std::size_t>(config.actor_threads));
  caf::actor_system system{caf_config};
  system.await_actors_before_shutdown(false);

  actor_context context;
  context.db = db.get();
  context.writer = spawn_store_writer(system, db.get());
  context.clock = std::make_shared<system_clock>();
  context.faults->device_fail_rate = config.faults.device_fail_rate;
  context.faults->device_crash_rate = config.faults.device_crash_rate;
  context.faults->webhook_drop_rate = config.faults.webhook_drop_rate;
  context.scheduler = spawn_scheduler(
    system,
    scheduler_options{config.scheduler.breaker_failures,
                      std::chrono::milliseconds(config.scheduler.breaker_cooldown_ms)},
    context.clock);
  context.config = &config;
  context.models = &*models;
  context.files_dir = files_dir;
  context.url_signing_key = url_signing_key(*db);
  outbound::client_options webhook_options;
  webhook_options.timeout = std::chrono::milliseconds(config.webhooks.timeout_ms);
  webhook_options.allow_private_targets = config.webhooks.allow_private_targets;
  webhook_options.extra_ca_file = config.webhooks.ca_file;
  webhook_options.max_in_flight = config.webhooks.max_in_flight;
  webhook_options.max_per_endpoint = config.webhooks.max_per_endpoint;
  std::unique_ptr<outbound::http_client> webhooks;
  try {
    webhooks = std::make_unique<outbound::http_client>(webhook_options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kiln: webhooks.ca_file: %s\n", e.what());
    db->close();
    return 2;
  }
  context.http_client = webhooks.get();
  auto pending_deliveries = recover_pending_deliveries(*db);
  log->info(R"("event":"recovery.deliveries","pending":{})", pending_deliveries.size());
  context.deliveries = spawn_deliveries(system, context, std::move(pending_deliveries));
  supervise(context.deliveries, "deliveries");
  supervise(context.writer, "store_writer");
  supervise(context.scheduler, "scheduler");
  for (const auto& device : config.devices)
    spawn_device(system, context, device);  // supervised by the scheduler, which restarts it
  if (gpus) system.spawn(gpu_telemetry, gpus.get(), context.scheduler);
  auto directory = spawn_directory(system, context, std::move(recovered));
  supervise(directory, "directory");
  if (config.demo_account) create_demo_account(system, directory, *db);

  bridge actors(system, config.actor_threads);
  outbound::resolver_pool resolver;
  http::server* server_ptr = nullptr;
  http::api api({&actors, directory, context.scheduler, &*models, &config, context.clock,
                 context.url_signing_key, files_dir,
                 [&] { return metrics_text(*db, *server_ptr); }, &resolver, context.faults,
                 context.writer});
  http::server_options options;
  options.host = config.listen_host();
  options.port = config.listen_port();
  options.threads = config.http.threads;
  options.idle_timeout = std::chrono::milliseconds(config.http.idle_timeout_ms);
  options.limit_response = &http::api::limit_response;
  http::server server(options, [&api](http::request&& r, http::responder reply) {
    api.handle(std::move(r), std::move(reply));
  });
  server_ptr = &server;
  auto port = server.start(error);
  if (port == 0) {
    std::fprintf(stderr, "kiln: %s\n", error.c_str());
    db->close();
    std::_Exit(1);
  }
  caf::anon_send(context.deliveries, register_atom::value,
                 config.public_url.empty()
                   ? "http://" + options.host + ":" + std::to_string(port)
                   : config.public_url);
  std::printf("kiln listening on http://%s:%u\n", options.host.c_str(), port);
  std::fflush(stdout);
  log->info(R"("event":"server.started","listen":"{}:{}","devices":{},"durability":"{}")",
            options.host, port, config.devices.size(),
            config.durability == durability_mode::fsync ? "fsync" : "none");

  int received = 0;
  sigwait(&signals, &received);
  log->info(R"("event":"server.stopping","signal":{},"in_flight":{})", received, server.in_flight());
  server.stop(std::chrono::seconds(10));  // stop accepting, let in-flight requests finish
  actors.stop();
  resolver.stop();
  webhooks->stop();  // attempts out now are sent again after the restart: at least once
  db->close();  // everything acknowledged is already durable; queued writes are flushed
  log->info(R"("event":"server.stopped")");
  spdlog::shutdown();
  std::fflush(stdout);
  // Actors keep no state that is not in the store, so the process ends here rather than
  // tearing down thousands of job actors one by one.
  std::_Exit(0);
}

int admin_create_account(const settings& config, const std::string& name, const std::string& plan,
                         std::int64_t credits) {
  if (!config.find_plan(plan)) {
    std::fprintf(stderr, "kiln: unknown plan '%s'\n", plan.c_str());
    return 2;
  }
  std::string error;
  auto db = store::open(config.data_dir, config.durability, error);
  if (!db) {
    std::fprintf(stderr, "kiln: %s (is a server running on this data directory?)\n",
                 error.c_str());
    return 1;
  }
  auto created = new_account(name, plan, credits, system_clock{}.now_ms());
  if (!db->commit(records::create_account_batch(created.account, created.key, created.initial_grant), error)) {
    std::fprintf(stderr, "kiln: cannot write the account: %s\n", error.c_str());
    return 1;
  }
  std::printf("account: %s\nname: %s\nplan: %s\ncredits: %lld\napi_key: %s\nwebhook_secret: %s\n",
              created.account.id.c_str(), name.c_str(), plan.c_str(),
              static_cast<long long>(credits), created.api_key_plain.c_str(),
              created.account.webhook_secret.c_str());
  return 0;
}

namespace {

std::unique_ptr<store> open_offline(const settings& config) {
  std::string error;
  auto db = store::open(config.data_dir, config.durability, error);
  if (!db)
    std::fprintf(stderr, "kiln: %s (is a server running on this data directory?)\n",
                 error.c_str());
  return db;
}

}  // namespace

int admin_grant(const settings& config, const std::string& account_id, std::int64_t amount,
                const std::string& reason) {
  auto db = open_offline(config);
  if (!db) return 1;
  auto bytes = db->get(column::accounts, account_id);
  auto record = bytes ? records::decode_account(*bytes) : std::nullopt;
  if (!record) {
    std::fprintf(stderr, "kiln: no account %s in %s\n", account_id.c_str(), config.data_dir.c_str());
    return 1;
  }
  std::uint64_t last_seq = 0;
  db->scan_reverse(column::ledger, records::account_job_prefix(account_id), {},
                   [&](std::string_view, std::string_view value) {
                     if (auto entry = records::decode_ledger_entry(value)) last_seq = entry->seq;
                     return false;
                   });
  auto now = system_clock{}.now_ms();
  ledger_entry entry;
  entry.id = crypto::make_id("led_", now);
  entry.seq = last_seq + 1;
  entry.at_ms = now;
  entry.kind = ledger_kind::grant;
  entry.amount = amount;
  entry.reason = reason;
  record->balance.available += amount;
  record->balance.granted += amount;
  entry.available_after = record->balance.available;
  write_batch batch;  // the entry and the balance it leads to, together
  batch.put(column::ledger, records::ledger_key(account_id, entry.seq), records::encode(entry));
  batch.put(column::accounts, account_id, records::encode(*record));
  std::string error;
  if (!db->commit(std::move(batch), error)) {
    std::fprintf(stderr, "kiln: cannot write the grant: %s\n", error.c_str());
    return 1;
  }
  std::printf("account: %s\ngranted: %lld\nledger_entry: %s\navailable: %lld\n", account_id.c_str(),
              static_cast<long long>(amount), entry.id.c_str(),
              static_cast<long long>(record->balance.available));
  return 0;
}

int admin_snapshot(const settings& config, const std::string& to) {
  auto db = open_offline(config);
  if (!db) return 1;
  std::string error;
  if (!db->checkpoint(to, error)) {
    std::fprintf(stderr, "kiln: snapshot to %s failed: %s\n", to.c_str(), error.c_str());
    return 1;
  }
  std::printf("snapshot: %s\n", to.c_str());
  return 0;
}

int admin_restore(const settings& config, const std::string& from) {
  namespace fs = std::filesystem;
  if (!fs::exists(fs::path(from) / "CURRENT")) {
    std::fprintf(stderr, "kiln: %s is not a snapshot (no CURRENT file)\n", from.c_str());
    return 2;
  }
  auto db_dir = fs::path(config.data_dir) / "db";
  std::error_code ec;
  fs::create_directories(config.data_dir, ec);
  std::string kept;
  if (fs::exists(db_dir)) {
    {  // refuse while a server holds the directory
      auto db = open_offline(config);
      if (!db) return 1;
    }
    kept = db_dir.string() + ".before-restore-" + std::to_string(system_clock{}.now_ms());
    fs::rename(db_dir, kept, ec);
    if (ec) {
      std::fprintf(stderr, "kiln: cannot move %s aside: %s\n", db_dir.c_str(), ec.message().c_str());
      return 1;
    }
  }
  fs::copy(from, db_dir, fs::copy_options::recursive, ec);
  if (ec) {
    std::fprintf(stderr, "kiln: cannot copy %s: %s\n", from.c_str(), ec.message().c_str());
    return 1;
  }
  if (!open_offline(config)) return 1;  // it opens: the restore is usable
  std::printf("restored: %s\ninto: %s\n", from.c_str(), db_dir.c_str());
  if (!kept.empty()) std::printf("previous database kept in: %s\n", kept.c_str());
  return 0;
}

}  // namespace kiln
