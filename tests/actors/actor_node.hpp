// Actor-level test fixture without HTTP: the real directory, account, job, scheduler, device and
// store writer actors over a real store, wired as run_node wires them, on a manual clock.
// A node can be torn down and a new one recovered on the same data directory (a restart).
#pragma once

#include "actors/actor_context.hpp"
#include "actors/scheduler_actor.hpp"
#include "base/clock.hpp"
#include "config/settings.hpp"
#include "devices/device_actor.hpp"
#include "models/job_request.hpp"
#include "persistence/store.hpp"
#include "protocol/directory.hpp"
#include "protocol/retention.hpp"
#include "protocol/store.hpp"
#include "tests/support/kiln_process.hpp"
#include "tests/support/seed.hpp"

#include <caf/all.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace kiln::test {

struct node_options {
  /// Empty: one sim device "sim-0" with 2 slots and no latency.
  std::vector<device_settings> devices;
  fault_settings faults{};
  std::uint32_t max_attempts = 3;
  /// The circuit breaker stays out of the way unless a test asks for it.
  scheduler_options scheduler{1000, std::chrono::milliseconds(5000)};
  /// Empty: the default plans.
  std::vector<plan_settings> plans;
  /// Runs on the opened store before any actor starts, e.g. to make start-up writes fail.
  std::function<void(store&)> before_start;
  /// outputs.retention_days; 0: no retention actor is spawned (`retention` stays null).
  std::uint32_t retention_days = 0;
};

/// A sim device.
device_settings sim_device(const std::string& id, std::uint32_t slots, std::uint32_t latency_ms);

/// A node without HTTP. Members are destroyed in reverse order: handles first, then the actor
/// system, and the store last, so no actor ever sees a destroyed store.
struct actor_node {
  /// `root` empty: a fresh temporary directory owned by the node. Otherwise the node keeps its
  /// store in `root`/data and its files in `root`/files, and starts from what `recover` finds
  /// there, as a restarted kiln does.
  explicit actor_node(node_options options = {}, std::filesystem::path root = {});
  ~actor_node();
  actor_node(const actor_node&) = delete;
  actor_node& operator=(const actor_node&) = delete;

  std::unique_ptr<temp_dir> own_dir;
  std::filesystem::path root;
  settings config = default_settings();
  std::unique_ptr<store> db;
  caf::actor_system_config caf_config;
  std::unique_ptr<caf::actor_system> system;
  actor_context context;
  device_context devices;
  std::vector<device_handles> device_actors;
  std::vector<store_reader_actor> readers;
  directory_actor directory;
  retention_actor retention;  ///< output retention, when options.retention_days > 0
  /// Time in these tests is the manual clock's: 2026-01-01T00:00:00Z until a test advances it.
  std::shared_ptr<manual_clock> time = std::make_shared<manual_clock>(1'767'225'600'000);

  account_created create_account(const std::string& plan, std::int64_t credits);
  /// Waits until every write sent to the store writer so far is on disk (the writer handles its
  /// mailbox in order and the store commits in order), e.g. the key's last-used update on auth.
  void settle();
  principal authenticate(const std::string& plain_key);

  /// Submits and returns the created job or the submit's error.
  std::variant<job, caf::error> submit(const principal& who, job_spec spec);
  /// Submits with an Idempotency-Key (none if `claim.key` is empty).
  std::variant<submitted, caf::error> submit_keyed(const principal& who, job_spec spec,
                                                   idempotency_claim claim);
  std::variant<cancel_result, caf::error> cancel(const principal& who, const std::string& id);
  std::variant<grant_result, caf::error> grant(const principal& who, std::int64_t amount,
                                               const std::string& reason,
                                               const std::string& key = {});
  /// The account actor's balance (its in-memory ledger).
  kiln::balance balance(const principal& who);
  job get_job(const principal& who, const std::string& id);
  job_page list_jobs(const principal& who);
  job wait_until_terminal(const principal& who, const std::string& id);
};

/// Polls `done` every 5 ms until it holds or `limit` passed; whether it held. For state that
/// changes through the store or other actors without telling the test.
bool wait_for(const std::function<bool()>& done,
              std::chrono::milliseconds limit = std::chrono::seconds(10));

job_spec spec_from(const std::string& body);

// -- reading the store directly ---------------------------------------------------------------

/// The record under `key` in `family`, nullopt when absent; a failed read fails the test.
std::optional<std::string> stored(const store& db, column family, std::string_view key);

std::optional<job> stored_job(const store& db, const std::string& id);
std::optional<account> stored_account(const store& db, const std::string& account_id);
/// The account's ledger entries in seq order (a prefix scan of column::ledger).
std::vector<ledger_entry> stored_ledger(const store& db, const std::string& account_id);
/// The account's jobs in creation order (through the account_jobs index).
std::vector<job> stored_jobs(const store& db, const std::string& account_id);

/// An account's record, ledger and jobs read from one consistent state of the store: read again
/// while a write touching the account's balance or ledger landed during the reads.
struct account_view {
  account record;
  std::vector<ledger_entry> ledger;
  std::vector<job> jobs;
};
account_view read_account(const store& db, const std::string& account_id);

/// What is wrong with the account's credits as stored, one line per problem (none: empty):
/// granted = available + held + used; held = the holds of unfinished jobs and of canceled jobs
/// still awaiting their refund; the ledger replays from zero to the balance; every job has one
/// hold entry and at most one settling entry (capture or release), exactly one once settled,
/// matching its status and amounts.
std::vector<std::string> ledger_problems(const account_view& view);

}  // namespace kiln::test
