// Start-up, recovery, serving and shutdown of one Kiln node: the composition root, the one place
// that knows every layer. It opens the store, recovers, spawns the actors and the devices, starts
// the HTTP server, and stops cleanly on SIGINT/SIGTERM.
#include "runtime/node.hpp"

#include "actors/delivery_actor.hpp"
#include "actors/device_link_actor.hpp"
#include "actors/directory_actor.hpp"
#include "actors/retention_actor.hpp"
#include "actors/scheduler_actor.hpp"
#include "actors/store_reader.hpp"
#include "actors/store_writer.hpp"
#include "actors/upload_actor.hpp"
#include "base/logging.hpp"
#include "config/limits.hpp"
#include "devices/device_actor.hpp"
#include "devices/gpu_telemetry.hpp"
#include "devices/nvml.hpp"
#include "http/actor_bridge.hpp"
#include "http/agent_media_routes.hpp"
#include "http/api.hpp"
#include "http/killa_routes.hpp"
#include "http/mercadream_routes.hpp"
#include "http/server.hpp"
#include "mcp/endpoint.hpp"
#include "models/crypto.hpp"
#include "outbound/http_client.hpp"
#include "outbound/target.hpp"
#include "persistence/durable_fs.hpp"
#include "persistence/job_listing.hpp"
#include "persistence/output_expiry.hpp"
#include "persistence/records.hpp"
#include "persistence/recovery.hpp"
#include "runtime/metrics_text.hpp"

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include <spdlog/spdlog.h>

#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>

namespace kiln {
namespace {

/// The HMAC key of signed file URLs: made once per data directory and kept in the store.
caf::expected<std::string> url_signing_key(store& db) {
  auto stored = db.get(column::meta, records::meta_url_signing_key);
  if (!stored) return stored.error();
  if (*stored) return std::move(**stored);
  std::string key = crypto::random_bytes(32);
  write_batch batch;
  batch.put(column::meta, std::string(records::meta_url_signing_key), key);
  if (auto error = db.commit(std::move(batch))) return error;
  return key;
}

caf::expected<catalog> load_catalog(const settings& config) {
  if (config.catalog_file.empty()) return catalog::builtin();
  std::ifstream file(config.catalog_file);
  if (!file)
    return make_error(error_code::invalid_request, "catalog: cannot read " + config.catalog_file);
  std::stringstream text;
  text << file.rdbuf();
  return catalog::parse(text.str());
}

/// Creates and prints the demo account on the first start of a data directory.
caf::error create_demo_account(caf::actor_system& system, const directory_actor& directory,
                               store& db) {
  auto done = db.get(column::meta, records::meta_demo_account);
  if (!done) return done.error();
  if (*done) return {};
  caf::error failure;
  caf::scoped_actor self{system};
  self
    ->request(directory, std::chrono::seconds(30), create_account_atom::value, std::string("demo"),
              std::string("pro"), std::int64_t{1000})
    .receive(
      [&](account_created& created) {
        std::printf("demo account %s (plan pro, 1000 credits)\ndemo api key: %s\n",
                    created.account.id.c_str(), created.api_key_plain.c_str());
        std::fflush(stdout);
        write_batch batch;
        batch.put(column::meta, std::string(records::meta_demo_account), created.account.id);
        failure = db.commit(std::move(batch));
      },
      [&](caf::error& error) { failure = error; });
  return failure;
}

/// Supervises a singleton actor (directory, scheduler, store writer, deliveries). None of them
/// ends before shutdown unless something is badly wrong, and their state is rebuilt from the
/// store at start, so the process stops with a distinct exit code and the service manager
/// restarts it: recovery is the restart path. Job actors are supervised by their job router.
template <class Handle>
void supervise(const Handle& actor, std::string role) {
  actor->attach_functor([role](const caf::error& reason) {
    logs::get("runtime")->critical(R"("event":"actor.down","actor":"{}","reason":"{}")", role,
                                   logs::json_text(caf::to_string(reason)));
    spdlog::shutdown();
    std::_Exit(70);
  });
}

/// "devices": "auto": one builtin-executor device per GPU NVML finds; without a driver, the
/// configured devices, and a line saying why. Returns the library when GPUs were found.
std::unique_ptr<nvml::library> discover_gpus(settings& config) {
  if (!config.devices_auto) return nullptr;
  std::string why;
  auto gpus = nvml::library::open(why);
  auto found = gpus ? gpus->list(why) : std::vector<nvml::gpu>{};
  if (found.empty()) {
    std::fprintf(stderr, "kiln: devices \"auto\": %s; starting with the built-in devices\n",
                 why.empty() ? "NVML found no GPU" : why.c_str());
    return nullptr;
  }
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
  return gpus;
}

caf::expected<recovered_state> recover_logged(const store& db) {
  auto log = logs::get("runtime");
  auto started = std::chrono::steady_clock::now();
  auto recovered = recover(db, [&](std::size_t scanned) {
    log->info(R"("event":"recovery.progress","jobs_scanned":{})", scanned);
  });
  if (!recovered) return recovered;
  log->info(R"("event":"recovery.done","accounts":{},"keys":{},"jobs_scanned":{},"deliveries":{},)"
            R"("duration_ms":{})",
            recovered->accounts.size(), recovered->keys.size(), recovered->jobs_scanned,
            recovered->pending_deliveries.size(),
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  started)
              .count());
  return recovered;
}

caf::expected<std::unique_ptr<outbound::http_client>> webhook_client(const settings& config) {
  outbound::client_options options;
  options.timeout = std::chrono::milliseconds(config.webhooks.timeout_ms);
  options.allow_private_targets = config.webhooks.allow_private_targets;
  options.extra_ca_file = config.webhooks.ca_file;
  options.max_in_flight = config.webhooks.max_in_flight;
  options.max_per_endpoint = config.webhooks.max_per_endpoint;
  try {
    return std::make_unique<outbound::http_client>(options);
  } catch (const std::exception& e) {  // the CA file does not load
    return make_error(error_code::invalid_request, std::string("webhooks.ca_file: ") + e.what());
  }
}

/// Prints why the node cannot start and gives the exit code.
int refuse_start(const caf::error& why, int code) {
  auto text = why.category() == kiln_error_category ? to_api_error(why).message : describe(why);
  std::fprintf(stderr, "kiln: %s\n", text.c_str());
  return code;
}

}  // namespace

int run_node(const settings& configured, const std::string& log_level) {
  logs::init(log_level);
  auto log = logs::get("runtime");
  settings config = configured;
  auto gpus = discover_gpus(config);
  // Signals are taken by sigwait below; every thread started from here on inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto models = load_catalog(config);
  if (!models) return refuse_start(models.error(), 2);
  auto faults = std::make_shared<runtime_faults>();
  faults->device_fail_rate = config.faults.device_fail_rate;
  faults->device_crash_rate = config.faults.device_crash_rate;
  faults->webhook_drop_rate = config.faults.webhook_drop_rate;
  store_options storage;
  storage.durability = config.durability;
  storage.faults = faults;
  storage.reserve_bytes = config.storage.reserve_bytes;
  storage.resume_interval = std::chrono::milliseconds(config.storage.resume_interval_ms);
  storage.on_fatal = [](const std::string& reason) {
    // RocksDB cannot go on from here: exit for the supervisor to restart Kiln, whose recovery
    // then reads what is really on disk (docs/decisions.md, "Storage faults").
    logs::get("runtime")->critical(R"("event":"server.exit","reason":"storage: {}")",
                                   logs::json_text(reason));
    spdlog::shutdown();
    std::_Exit(75);
  };
  auto opened = store::open(config.data_dir, std::move(storage));
  if (!opened) return refuse_start(opened.error(), 1);
  auto db = std::move(*opened);
  std::string files_dir = config.data_dir + "/files";
  if (auto error = durable_fs::create_directories(files_dir)) return refuse_start(error, 1);
  // Upload sessions' files, and the bodies of PUTs still arriving (none survives a restart).
  std::string uploads_dir = config.data_dir + "/uploads";
  std::string upload_parts_dir = uploads_dir + "/incoming";
  std::error_code parts_cleared;
  std::filesystem::remove_all(upload_parts_dir, parts_cleared);
  if (auto error = durable_fs::create_directories(upload_parts_dir)) return refuse_start(error, 1);
  // A store from before the job listing existed gets its index once (persistence/job_listing).
  if (auto error = listing::build_once(*db, [](std::size_t jobs) {
        logs::get("runtime")->info(R"("event":"listing.build_progress","jobs_indexed":{})", jobs);
      }))
    return refuse_start(error, 1);
  // ... and its output expiry index (persistence/output_expiry), for output retention.
  if (auto error = output_expiry::build_once(*db, [](std::size_t jobs) {
        logs::get("runtime")->info(R"("event":"output_expiry.build_progress","jobs":{})", jobs);
      }))
    return refuse_start(error, 1);
  auto recovered = recover_logged(*db);
  if (!recovered) return refuse_start(recovered.error(), 1);
  auto signing_key = url_signing_key(*db);
  if (!signing_key) return refuse_start(signing_key.error(), 1);
  auto webhooks = webhook_client(config);
  if (!webhooks) return refuse_start(webhooks.error(), 2);

  caf::actor_system_config caf_config;
  caf_config.set("scheduler.max-threads", static_cast<std::size_t>(config.actor_threads));
  caf::actor_system system{caf_config};
  system.await_actors_before_shutdown(false);

  actor_context context;
  context.db = db.get();
  context.writer = spawn_store_writer(system, db.get());
  context.clock =
    std::make_shared<system_clock>(static_cast<std::int64_t>(config.faults.clock_offset_ms));
  context.faults = faults;
  context.scheduler = spawn_scheduler(
    system,
    scheduler_options{config.scheduler.breaker_failures,
                      std::chrono::milliseconds(config.scheduler.breaker_cooldown_ms)},
    context.clock);
  context.config = &config;
  context.models = &*models;
  context.url_signing_key = *signing_key;
  context.webhook_client = webhooks->get();
  context.deliveries = spawn_deliveries(system, context, std::move(recovered->pending_deliveries));
  supervise(context.deliveries, "deliveries");
  supervise(context.writer, "store_writer");
  supervise(context.scheduler, "scheduler");
  auto base = std::make_shared<public_base>();
  device_context devices{files_dir, &config, faults, context.scheduler, context.url_signing_key,
                         base};
  std::vector<device_handles> device_actors;  // held until the process exits
  for (const auto& device : config.devices)
    device_actors.push_back(spawn_device(system, devices, device));  // the scheduler restarts it
  if (gpus) spawn_gpu_telemetry(system, gpus.get(), context.scheduler);
  auto readers = spawn_store_readers(system, db.get(), context.clock, limits::query_readers);
  auto directory = spawn_directory(system, context, std::move(*recovered));
  supervise(directory, "directory");
  auto retention = spawn_retention(system, context, directory, files_dir);  // output retention
  supervise(retention, "retention");
  auto uploads = spawn_uploads(system, context, uploads_dir);  // upload sessions
  supervise(uploads, "uploads");
  auto device_links = spawn_device_links(system, context.clock, directory);  // Killa's, in memory
  supervise(device_links, "device_links");
  if (config.demo_account)
    if (auto error = create_demo_account(system, directory, *db)) return refuse_start(error, 1);

  bridge actors(system, config.actor_threads);
  outbound::resolver_pool resolver;
  http::server* server_ptr = nullptr;
  http::api api({&actors, directory, context.scheduler, readers, &*models, &config, context.clock,
                 context.url_signing_key, files_dir,
                 [&] { return metrics_text(*db, server_ptr->in_flight()); }, &resolver, faults,
                 context.writer, [&] { return db->status(); }, device_links, uploads, uploads_dir});
  // MCP clients reach the same routes as tools (docs/mcp.md).
  mcp::mount(api, "/mcp", mcp::kiln_tools(), {config.mcp.allowed_origins});
  if (config.frontends.killa.enabled) {
    killa::dialect_settings killa_settings;
    killa_settings.credit_usd_micros =
      static_cast<std::int64_t>(config.frontends.killa.credit_usd_micros);
    killa_settings.tasks =
      config.frontends.killa.tasks.empty() ? killa::default_tasks() : config.frontends.killa.tasks;
    std::vector<killa::package> packages;
    for (const auto& p : config.frontends.killa.packages)
      packages.push_back({p.code, p.label, static_cast<std::int64_t>(p.usd_cents),
                          static_cast<std::int64_t>(p.credits)});
    http::mount_killa(api, std::move(killa_settings), std::move(packages),
                      config.frontends.killa.listen.empty() ? "" : "killa");
  }
  if (config.frontends.agent_media.enabled) http::mount_agent_media(api);
  if (config.frontends.mercadream.enabled) http::mount_mercadream(api);
  http::server_options options;
  options.host = config.listen_host();
  options.port = config.listen_port();
  options.threads = config.http.threads;
  options.idle_timeout = std::chrono::milliseconds(config.http.idle_timeout_ms);
  options.limit_response = [&api](int status, std::string_view target) {
    return api.limit_response(status, target);
  };
  options.streamed_body_limit = [&config](std::string_view method, std::string_view target) {
    return http::is_upload_put(method, target) ? config.uploads.max_bytes : std::uint64_t{0};
  };
  options.streamed_body_dir = upload_parts_dir;
  http::server server(options, [&api](http::request&& r, http::responder reply) {
    api.handle(std::move(r), std::move(reply));
  });
  server_ptr = &server;
  std::string error;
  auto port = server.start(error);
  if (port == 0) {
    std::fprintf(stderr, "kiln: %s\n", error.c_str());
    db->close();
    std::_Exit(1);
  }
  // A front end on an address of its own: the same API, its paths only.
  std::optional<http::server> killa_server;
  if (config.frontends.killa.enabled && !config.frontends.killa.listen.empty()) {
    auto own = options;
    own.name = "killa";
    auto colon = config.frontends.killa.listen.rfind(':');
    own.host = config.frontends.killa.listen.substr(0, colon);
    own.port =
      static_cast<std::uint16_t>(std::stoul(config.frontends.killa.listen.substr(colon + 1)));
    killa_server.emplace(own, [&api](http::request&& r, http::responder reply) {
      api.handle(std::move(r), std::move(reply));
    });
    auto own_port = killa_server->start(error);
    if (own_port == 0) {
      std::fprintf(stderr, "kiln: frontends.killa.listen: %s\n", error.c_str());
      db->close();
      std::_Exit(1);
    }
    std::printf("killa listening on http://%s:%u\n", own.host.c_str(), own_port);
  }
  base->set(config.public_url.empty() ? "http://" + options.host + ":" + std::to_string(port)
                                      : config.public_url);
  caf::anon_send(context.deliveries, register_atom::value, base->get());
  std::printf("kiln listening on http://%s:%u\n", options.host.c_str(), port);
  std::fflush(stdout);
  log->info(R"("event":"server.started","listen":"{}:{}","devices":{},"durability":"{}")",
            options.host, port, config.devices.size(),
            config.durability == durability_mode::fsync ? "fsync" : "none");

  int received = 0;
  sigwait(&signals, &received);
  log->info(R"("event":"server.stopping","signal":{},"in_flight":{})", received,
            server.in_flight());
  if (killa_server) killa_server->stop(std::chrono::seconds(10));
  server.stop(std::chrono::seconds(10));  // stop accepting, let in-flight requests finish
  actors.stop();
  resolver.stop();
  (*webhooks)->stop();  // attempts out now are sent again after the restart: at least once
  db->close();          // everything acknowledged is already durable; queued writes are flushed
  log->info(R"("event":"server.stopped")");
  spdlog::shutdown();
  std::fflush(stdout);
  // Actors keep no state that is not in the store, so the process ends here rather than
  // tearing down thousands of job actors one by one.
  std::_Exit(0);
}

}  // namespace kiln
