// The durable store: RocksDB with one column family per record kind, and group commit.
// Writers hand in batches; one committer thread joins every batch waiting at that moment into a
// single synced RocksDB write, so many requests share one fsync and each callback runs only
// once its writes are on disk. RocksDB headers stay inside store.cpp.
//
// Every operation says how it ended: a point read tells found, absent and failed apart, a scan
// reports an iterator that stopped on an error, a commit reports its status. Failures are
// caf::errors with code `unavailable` (models/error.hpp) whose message names the operation and
// the family; RocksDB's own text, which can hold server paths, is logged, never returned.
#pragma once

#include "base/faults.hpp"
#include "config/settings.hpp"

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kiln {

enum class column : std::uint8_t {
  meta,
  accounts,
  keys,
  jobs,
  account_jobs,
  ledger,
  idempotency,         ///< "<account>/<key>" -> what the key is bound to
  idempotency_expiry,  ///< "<account>/<expiry ms, 16 hex>/<key>" -> "": the keys in expiry order
  deliveries,          ///< "<job id>/<delivery id>" -> a webhook delivery and its attempts
  pending_deliveries,  ///< the same keys -> "": deliveries not yet delivered or given up
  job_events,          ///< "<job id>/<at ms, 16 hex>-<order, 16 hex>" -> one timeline event
  /// "<account>/<status>/<seq, 16 hex>" -> job id: the account's jobs in each status that are
  /// not deleted, kept in the batches that change a job's status (persistence/job_listing).
  job_listing,
  /// "<account>/<status>" -> how many job_listing keys the status has: 8 bytes, little-endian,
  /// written only by adding (write_batch::add), so batches that never read it keep it exact.
  listing_counts,
  /// "<completed at ms, 16 hex>/<job id>" -> account id: the succeeded jobs whose output files
  /// are kept, oldest first, for retention to sweep (persistence/output_expiry).
  output_expiry,
  uploads,  ///< upload session id -> the session and its files (models/upload.hpp)
  /// "<files due at ms, 16 hex>/<session id>" -> "": sessions whose files the upload sweep is
  /// still to delete, in the order they fall due.
  upload_expiry,
};

/// The column family's name in RocksDB ("jobs"); "default" for meta.
std::string_view column_name(column family);
/// The family named `name`, if there is one.
std::optional<column> parse_column(std::string_view name);

struct write_op {
  column family = column::meta;
  std::string key;
  std::string value;
  bool erase = false;
  bool add = false;  ///< listing_counts only: `value` (int64, 8 bytes LE) is added to the count
};

/// The outcome of one batch, for batches that depend on it.
struct commit_token {
  enum class state : int { pending, written, failed };
  std::atomic<state> outcome{state::pending};
};

/// Writes that land together or not at all.
struct write_batch {
  std::vector<write_op> ops;
  /// If set, this batch is written only if the batch owning `after` was written; otherwise it
  /// fails without touching the disk. Lets a writer send a batch built on top of one still in
  /// flight: if the first fails, the second can never land on a state that does not exist.
  std::shared_ptr<commit_token> after;
  std::shared_ptr<commit_token> token;  ///< set to this batch's outcome, if present
  void put(column family, std::string key, std::string value) {
    ops.push_back({family, std::move(key), std::move(value), false});
  }
  void erase(column family, std::string key) {
    ops.push_back({family, std::move(key), {}, true, false});
  }
  /// Adds `delta` to a count (column listing_counts), merged by RocksDB with what is stored.
  void add(column family, std::string key, std::int64_t delta);
};

/// A count as stored in listing_counts (absent: 0); nullopt if the bytes are not a count.
std::optional<std::int64_t> decode_count(std::string_view bytes);
std::string encode_count(std::int64_t value);

/// Counters for benchmarks and /metrics.
struct store_stats {
  std::uint64_t batches = 0;  ///< batches committed
  std::uint64_t groups = 0;   ///< synced RocksDB writes (one per group that reached RocksDB)
  std::uint64_t failures = 0;
  std::uint64_t memtable_bytes = 0;     ///< RocksDB memtables, all families
  std::uint64_t block_cache_bytes = 0;  ///< RocksDB block cache in use
};

/// What a point read found: the value, nullopt when the key is absent, or an error when the
/// store could not answer (which is never "absent").
using read_result = caf::expected<std::optional<std::string>>;

/// How a store is opened. The defaults suit tests and the offline admin commands: no reserve,
/// and a store that stays degraded rather than ending the process on a fault it cannot resume.
struct store_options {
  durability_mode durability = durability_mode::fsync;
  faults_ptr faults;                ///< injects read and write failures at run time (optional)
  std::uint64_t reserve_bytes = 0;  ///< storage.reserve_bytes
  std::chrono::milliseconds resume_interval{1000};
  /// Called once when RocksDB cannot resume from a failed write (the server exits for a
  /// supervisor to restart it; recovery then reads what is really on disk).
  std::function<void(const std::string& reason)> on_fatal;
};

/// Whether the store takes writes now, and why not.
struct store_status {
  bool writable = true;
  std::string reason;  ///< e.g. "disk_full: ..." or "write_failed: ..."
};

class store {
public:
  /// Called with no error once the batch is durable, or with the failure (nothing written).
  using commit_callback = std::function<void(const caf::error& failure)>;
  /// A visitor must not call back into the store: a scan holds the store's shared lock.
  using visitor = std::function<bool(std::string_view key, std::string_view value)>;

  /// Opens (creating if missing, durably) the database under `directory`/db, e.g. failing when
  /// another process holds the lock.
  static caf::expected<std::unique_ptr<store>> open(const std::string& directory,
                                                    store_options options);
  static caf::expected<std::unique_ptr<store>> open(const std::string& directory,
                                                    durability_mode durability,
                                                    faults_ptr faults = nullptr);
  ~store();
  store(const store&) = delete;
  store& operator=(const store&) = delete;

  /// Queues `batch`; `done` runs on the committer thread once the group holding it is durable
  /// (ok) or failed (nothing of it written).
  void commit_async(write_batch batch, commit_callback done);
  /// Writes everything queued, then closes RocksDB. Later commits fail at once and later reads
  /// find nothing. Safe to call more than once.
  void close();

  /// Commits and waits; for start-up and the admin command line. No error: durable.
  caf::error commit(write_batch batch);

  read_result get(column family, std::string_view key) const;
  /// Visits keys starting with `prefix` in ascending order until `visit` returns false. An
  /// error when the iteration stopped because the store failed (not when `visit` stopped it).
  caf::error scan(column family, std::string_view prefix, const visitor& visit) const;
  /// As scan, from the first key after `after` (all keys of the prefix, if empty).
  caf::error scan_after(column family, std::string_view prefix, std::string_view after,
                        const visitor& visit) const;
  /// Visits keys starting with `prefix` that sort before `before` (all, if empty) in descending
  /// order until `visit` returns false; an error as for scan.
  caf::error scan_reverse(column family, std::string_view prefix, std::string_view before,
                          const visitor& visit) const;

  /// Test and fault injection: after `skip` more group writes succeed, the next `count` fail as
  /// if the disk did.
  void fail_next_writes(std::uint32_t count, std::uint32_t skip = 0) {
    writes_to_skip_ = skip;
    failures_to_inject_ = count;
  }
  store_stats stats() const;
  /// Whether writes are taken now (GET /readyz).
  store_status status() const;

  /// Test and fault injection: the next `count` point reads and scans fail.
  void fail_next_reads(std::uint32_t count) { faults_->store_read_failures = count; }

  /// A consistent on-line copy of the database in `directory` (which must not exist).
  caf::error checkpoint(const std::string& directory);

private:
  struct impl;
  store(std::unique_ptr<impl> state, faults_ptr faults);
  /// Whether this read is to fail as injected (and counts it).
  bool read_fault() const;
  faults_ptr faults_;
  std::unique_ptr<impl> impl_;
  std::atomic<std::uint32_t> failures_to_inject_{0};
  std::atomic<std::uint32_t> writes_to_skip_{0};
  friend struct impl;
};

}  // namespace kiln
