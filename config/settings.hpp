// Kiln's settings: what an operator sets, in one struct mirroring the JSON configuration file.
// Defaults live in the member initialisers; `load_settings` layers file < environment < flags and
// validates the whole result, so a bad key stops start-up with a message naming it.
#pragma once

#include "config/limits.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace kiln {

/// How a write is made durable before it is acknowledged.
enum class durability_mode { fsync, none };

/// One configured device: a GPU (or a simulated one) and the executor that runs jobs on it.
struct device_settings {
  std::string id;                        ///< unique, e.g. "gpu-0"
  std::string executor = "builtin";      ///< "builtin" | "sim" | "http"
  std::uint32_t slots = 1;               ///< jobs it runs at once, 1..256
  std::uint32_t latency_ms = 0;          ///< sim only: how long a job takes
  std::vector<std::string> models{"*"};  ///< model ids it serves; "*" = all
  std::string url;                       ///< http only: the inference server's base URL
};

/// One plan: its request rate, concurrency, the models it may use, its monthly credits and the
/// longest video it may ask for.
struct plan_settings {
  std::string name;
  std::uint32_t rank = 0;  ///< free=0 < starter=1 < pro=2 < enterprise=3; min_plan compares ranks
  std::uint32_t requests_per_minute = 600;
  std::uint32_t max_concurrent_jobs = 4;
  /// Credits granted at the start of each calendar month (UTC) as a top-up to this many
  /// (docs/decisions.md, "Monthly credits"); 0: none.
  std::uint32_t monthly_credits = 0;
  /// The longest params.duration_seconds a job may ask for (403 plan_limit beyond); 0: the
  /// model's own limits only.
  std::uint32_t max_duration_s = 0;
  /// Whether keys of the plan's accounts may call the API at all (403 plan_required if not).
  bool api_access = true;
  /// The largest output a job may ask for, in pixels (width x height, or a named resolution
  /// such as MercaDream's "4k"; 403 plan_limit beyond); 0: no limit.
  std::uint32_t max_pixels = 0;
};

struct webhook_settings {
  std::uint32_t timeout_ms = 10000;
  std::vector<std::uint64_t> retry_schedule_ms{0, 30000, 120000, 600000, 1800000, 7200000};
  bool allow_private_targets = false;
  std::uint64_t secret_rotation_window_s = 86400;  ///< the old secret still signs this long
  std::uint32_t max_in_flight = 256;               ///< attempts at once, over all endpoints
  std::uint32_t max_per_endpoint = 8;              ///< attempts at once to one scheme://host:port
  std::string ca_file;  ///< extra trusted CAs (PEM) besides the system store
  /// Where a test key's jobs may send webhooks: "host" (any port) or "host:port", an IPv6 host
  /// in brackets; empty: nowhere (docs/decisions.md, "Test keys").
  std::vector<std::string> test_targets;
};

struct scheduler_settings {
  std::uint32_t breaker_failures = 3;        ///< failed runs in a row that take a device down
  std::uint32_t breaker_cooldown_ms = 5000;  ///< first down period, doubling while probes fail
};

struct job_settings {
  std::uint32_t max_attempts = 3;
  std::uint64_t idempotency_ttl_s = 86400;
};

/// What is kept of finished jobs' output files (docs/decisions.md, "Output retention").
struct output_settings {
  /// Days a succeeded job's files are kept after it completed, 0..3650; 0 keeps them forever.
  std::uint32_t retention_days = 30;
};

/// Upload sessions (docs/decisions.md, "Uploads").
struct upload_settings {
  /// Largest file one PUT may send, in bytes, 1 KiB..64 GiB; a larger one gets 413.
  std::uint64_t max_bytes = limits::upload_bytes_max;
};

struct fault_settings {
  std::uint64_t seed = 1;
  /// Moves the server's clock forward by this much from its start (drills and tests of what
  /// depends on the date: monthly credits, expiries); 0 in production.
  std::uint64_t clock_offset_ms = 0;
  double device_fail_rate = 0.0;
  double device_crash_rate = 0.0;
  double webhook_drop_rate = 0.0;
};

/// How the store meets a full or failing disk (persistence/store_health.hpp).
struct storage_settings {
  /// Free bytes kept on the data directory's disk: below it writes answer 503 (nothing is
  /// written) until space returns, so RocksDB never meets a full disk mid-write.
  std::uint64_t reserve_bytes = 64ull << 20;
  /// While writes fail, how often RocksDB is asked to resume (or free space is checked again).
  std::uint32_t resume_interval_ms = 1000;
};

struct http_settings {
  std::uint32_t threads = 2;              ///< io threads for the HTTP server, 1..64
  std::uint32_t idle_timeout_ms = 30000;  ///< keep-alive idle limit and per-read deadline
};

/// The MCP endpoints (docs/mcp.md).
struct mcp_settings {
  /// Origins browsers may call POST /mcp from, e.g. "https://app.example.com"; empty: loopback
  /// origins only. Requests without an Origin header (not from a browser) are not affected.
  std::vector<std::string> allowed_origins;
};

/// A credit package Killa's GET /api/v1/packages lists (buying happens elsewhere).
struct killa_package {
  std::string code;
  std::string label;
  std::uint64_t usd_cents = 0;
  std::uint64_t credits = 0;
};

/// The Killa Tamata dialect (docs/frontends.md).
struct killa_settings {
  bool enabled = true;
  std::uint64_t credit_usd_micros = 10000;  ///< the value of one credit: 10,000 micro-USD = $0.01
  /// Task -> model id; empty: the built-in mapping (models/dialects/killa.cpp).
  std::map<std::string, std::string> tasks;
  std::vector<killa_package> packages;  ///< GET /api/v1/packages; default none
  /// HOST:PORT of a listener of its own (only Killa's paths, every error in its envelope);
  /// empty: the main listener only.
  std::string listen;
};

/// agent.media's video API (docs/frontends.md).
struct agent_media_settings {
  bool enabled = true;
};

/// MercaDream's /v2 API (docs/frontends.md).
struct mercadream_settings {
  bool enabled = true;
  /// Webhooks at each quarter of a running job's progress (job.progress), besides its start
  /// and end; off: start and end only.
  bool progress_webhooks = false;
};

struct frontend_settings {
  killa_settings killa;
  agent_media_settings agent_media;
  mercadream_settings mercadream;
};

struct settings {
  std::string listen = "127.0.0.1:8080";  ///< HOST:PORT; port 0 picks a free one
  std::string data_dir = "./data";
  std::string admin_token = "change-me";
  durability_mode durability = durability_mode::fsync;
  std::uint32_t actor_threads = 2;  ///< CAF scheduler workers, 1..64
  std::string catalog_file;         ///< empty = the built-in catalog
  /// Where output links in webhook events point ("https://api.example.com"); empty: the listen
  /// address over http.
  std::string public_url;
  bool demo_account = true;  ///< create and print a demo account on first start
  http_settings http;
  storage_settings storage;
  webhook_settings webhooks;
  job_settings jobs;
  output_settings outputs;
  upload_settings uploads;
  scheduler_settings scheduler;
  mcp_settings mcp;
  frontend_settings frontends;
  /// "devices": "auto": one device per NVIDIA GPU found through NVML (the builtin executor runs
  /// on each); the configured `devices` when no driver is found.
  bool devices_auto = false;
  std::vector<device_settings> devices;  ///< default: gpu-0 builtin 1 slot, gpu-1 sim 4 slots
  std::vector<plan_settings> plans;      ///< default: free, starter, pro, enterprise
  fault_settings faults;

  /// The listen address split into host and port (validated by load_settings).
  std::string listen_host() const;
  std::uint16_t listen_port() const;
  const plan_settings* find_plan(const std::string& name) const;
};

/// The built-in defaults, including the two devices and four plans.
settings default_settings();

/// Either settings or the message that says which key is wrong and why.
struct settings_result {
  std::optional<settings> value;
  std::string error;  ///< e.g. "config: unknown key 'webhooks.timeout'" ; empty on success
};

/// Layers a JSON config file (optional; empty path = none), the environment (`KILN_*`, see
/// docs), and command-line flags (already parsed into key -> value, keys as dotted paths like
/// "listen" or "data_dir") over the defaults, then validates everything.
settings_result load_settings(const std::string& file_path,
                              const std::map<std::string, std::string>& environment,
                              const std::map<std::string, std::string>& flags);

/// The process environment as a map (only variables starting with KILN_).
std::map<std::string, std::string> kiln_environment();

}  // namespace kiln
