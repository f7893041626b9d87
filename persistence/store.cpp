// RocksDB behind the store interface, with the group-commit thread.
#include "persistence/store.hpp"

#include "base/assert.hpp"
#include "base/logging.hpp"
#include "models/error.hpp"
#include "persistence/durable_fs.hpp"
#include "persistence/store_health.hpp"

#include <rocksdb/db.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/merge_operator.h>
#include <rocksdb/table.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <condition_variable>
#include <cstdarg>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <mutex>
#include <shared_mutex>
#include <thread>

#include <spdlog/spdlog.h>

namespace kiln {
namespace {

const char* const family_names[] = {"default",        "accounts",
                                    "keys",           "jobs",
                                    "account_jobs",   "ledger",
                                    "idempotency",    "idempotency_expiry",
                                    "deliveries",     "pending_deliveries",
                                    "job_events",     "job_listing",
                                    "listing_counts", "output_expiry",
                                    "uploads",        "upload_expiry"};
constexpr std::size_t family_count = std::size(family_names);

/// The error a failed store operation answers with: what failed, never RocksDB's text (which
/// can name server paths); that goes to the log, once, here.
caf::error store_failure(std::string_view operation, column family, const rocksdb::Status& status) {
  logs::get("store")->error(R"("event":"store.{}_failed","family":"{}","status":"{}")", operation,
                            column_name(family), logs::json_text(status.ToString()));
  return make_error(error_code::unavailable, "storage " + std::string(operation) + " failed (" +
                                               std::string(column_name(family)) + ")");
}

caf::error injected_read_failure(column family) {
  logs::get("store")->error(R"("event":"store.read_failed","family":"{}","status":"injected")",
                            column_name(family));
  return make_error(error_code::unavailable,
                    "storage read failed (" + std::string(column_name(family)) + ", injected)");
}

/// listing_counts: a count and an addition are both 8-byte little-endian int64s; merging adds.
class count_adder final : public rocksdb::AssociativeMergeOperator {
public:
  bool Merge(const rocksdb::Slice&, const rocksdb::Slice* existing, const rocksdb::Slice& value,
             std::string* merged, rocksdb::Logger*) const override {
    std::int64_t sum = 0;
    if (existing) {
      auto base = decode_count(std::string_view(existing->data(), existing->size()));
      if (!base) return false;
      sum = *base;
    }
    auto delta = decode_count(std::string_view(value.data(), value.size()));
    if (!delta) return false;
    *merged = encode_count(sum + *delta);
    return true;
  }
  const char* Name() const override { return "kiln.count_adder"; }
};

/// RocksDB's own log goes to Kiln's "store" logger, not to a LOG file on the data disk: on a
/// full disk a failed write to that file aborted the process inside RocksDB.
class store_logger final : public rocksdb::Logger {
public:
  store_logger() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    char text[1024];
    std::vsnprintf(text, sizeof text, format, ap);
    auto severity = level >= rocksdb::InfoLogLevel::ERROR_LEVEL  ? spdlog::level::err
                    : level >= rocksdb::InfoLogLevel::WARN_LEVEL ? spdlog::level::warn
                                                                 : spdlog::level::debug;
    logs::get("store")->log(severity, R"("event":"rocksdb.log","text":"{}")",
                            logs::json_text(text));
  }
  void Logv(const char* format, va_list ap) override {
    Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap);
  }
};

/// What the health thread makes of RocksDB's Resume().
store_health::resume_outcome resume(rocksdb::DB& db, std::string& why) {
  auto status = db.Resume();
  if (status.ok()) return store_health::resume_outcome::resumed;
  why = status.ToString();
  if (status.IsBusy()) return store_health::resume_outcome::busy;
  // DBImpl::ResumeImpl gives back the stored background error, severity and all, without trying
  // when that severity is above kHardError (kFatalError, as after a failed WAL write or fsync, and
  // kUnrecoverableError): those never resume, however often they are retried.
  if (status.IsCorruption() || status.severity() > rocksdb::Status::Severity::kHardError)
    return store_health::resume_outcome::fatal;
  return store_health::resume_outcome::retry;
}

std::string upper_bound_of(std::string_view prefix) {
  std::string bound(prefix);
  while (!bound.empty() && static_cast<unsigned char>(bound.back()) == 0xFF) bound.pop_back();
  if (!bound.empty())
    bound.back() = static_cast<char>(static_cast<unsigned char>(bound.back()) + 1);
  return bound;
}

}  // namespace

std::string_view column_name(column family) {
  auto index = static_cast<std::size_t>(family);
  KILN_ASSERT(index < family_count);
  return family_names[index];
}

std::optional<column> parse_column(std::string_view name) {
  for (std::size_t i = 0; i < family_count; ++i)
    if (family_names[i] == name || (i == 0 && name == "meta")) return static_cast<column>(i);
  return std::nullopt;
}

struct store::impl {
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> families;
  rocksdb::WriteOptions write_options;

  std::mutex mutex;
  std::condition_variable wake;
  struct pending {
    write_batch batch;
    commit_callback done;
    bool refused = false;  ///< arrived while closing: failed in its turn, never written
  };
  std::deque<pending> queue;
  bool stopping = false;
  bool committer_done = false;  ///< the committer has answered everything and ended
  bool closed = false;
  std::shared_mutex db_access;  ///< reads share it; close() takes it alone
  std::thread committer;
  store_stats stats;
  std::unique_ptr<store_health> health;

  rocksdb::ColumnFamilyHandle* family(column c) const {
    return families[static_cast<std::size_t>(c)];
  }

  void append(rocksdb::WriteBatch& out, const write_batch& batch) {
    for (const auto& op : batch.ops) {
      if (op.erase) out.Delete(family(op.family), op.key);
      else if (op.add) out.Merge(family(op.family), op.key, op.value);
      else out.Put(family(op.family), op.key, op.value);
    }
  }

  void run(store& owner) {
    std::vector<pending> group;
    for (;;) {
      {
        std::unique_lock lock(mutex);
        wake.wait(lock, [&] { return stopping || !queue.empty(); });
        if (queue.empty()) {  // stopping, and everything queued was answered
          committer_done = true;
          return;
        }
        group.assign(std::make_move_iterator(queue.begin()), std::make_move_iterator(queue.end()));
        queue.clear();
      }
      rocksdb::WriteBatch combined;
      std::vector<bool> dropped(group.size(), false);
      for (std::size_t i = 0; i < group.size(); ++i) {
        const auto& after = group[i].batch.after;
        dropped[i] =
          group[i].refused || (after && after->outcome.load() == commit_token::state::failed);
        if (!dropped[i]) append(combined, group[i].batch);
        else if (group[i].batch.token)  // at once: a later batch of this group may depend on it
          group[i].batch.token->outcome = commit_token::state::failed;
      }
      rocksdb::Status status;
      caf::error refused;     // not written: the store is degraded or the disk nearly full
      bool injected = false;  // a test's failure: nothing reached RocksDB
      bool handed = false;    // the group went to db->Write: one synced write (the syncs metric)
      if (combined.Count() == 0) {
        status = rocksdb::Status::OK();
      } else if ((refused = health->admit())) {
        status = rocksdb::Status::Aborted("refused");
      } else if (owner.writes_to_skip_.load() > 0) {
        owner.writes_to_skip_.fetch_sub(1);
        handed = true;
        status = db->Write(write_options, &combined);
      } else if (owner.failures_to_inject_.load() > 0) {
        owner.failures_to_inject_.fetch_sub(1);
        injected = true;
        status = rocksdb::Status::IOError("injected write failure");
      } else {
        handed = true;
        status = db->Write(write_options, &combined);
      }
      std::size_t failed = 0;
      for (std::size_t i = 0; i < group.size(); ++i) {
        bool ok = status.ok() && !dropped[i];
        failed += !ok;
        if (group[i].batch.token)
          group[i].batch.token->outcome =
            ok ? commit_token::state::written : commit_token::state::failed;
      }
      {
        std::lock_guard lock(mutex);
        stats.groups += handed;
        stats.batches += group.size();
        stats.failures += failed;
      }
      caf::error failure = refused;
      if (!status.ok() && !refused) {
        logs::get("store")->error(R"("event":"store.write_failed","batches":{},"status":"{}")",
                                  group.size(), logs::json_text(status.ToString()));
        if (injected) {
          failure = make_error(error_code::unavailable, "storage write failed");
        } else {  // it reached RocksDB: its record may be in the WAL
          health->write_failed(status.ToString(), status.IsNoSpace());
          failure = make_unknown_outcome_error("storage write failed");
        }
      }
      for (std::size_t i = 0; i < group.size(); ++i) {
        if (group[i].refused)
          group[i].done(make_error(error_code::unavailable, "the store is closed"));
        else if (dropped[i])
          group[i].done(make_error(error_code::unavailable,
                                   "storage write failed: an earlier write it depends on failed"));
        else group[i].done(failure);
      }
      group.clear();
    }
  }
};

store::store(std::unique_ptr<impl> state, faults_ptr faults)
  : faults_(faults ? std::move(faults) : std::make_shared<runtime_faults>()),
    impl_(std::move(state)) {
  impl_->committer = std::thread([this] { impl_->run(*this); });
}

store::~store() { close(); }

void store::close() {
  {
    std::lock_guard lock(impl_->mutex);
    if (impl_->stopping) return;
    impl_->stopping = true;
  }
  impl_->wake.notify_all();
  impl_->committer.join();
  impl_->health->stop();
  std::unique_lock access(impl_->db_access);
  for (auto* handle : impl_->families) impl_->db->DestroyColumnFamilyHandle(handle);
  impl_->families.clear();
  impl_->db->Close();
  impl_->closed = true;
}

caf::expected<std::unique_ptr<store>> store::open(const std::string& directory,
                                                  durability_mode durability, faults_ptr faults) {
  store_options options;
  options.durability = durability;
  options.faults = std::move(faults);
  return open(directory, std::move(options));
}

caf::expected<std::unique_ptr<store>> store::open(const std::string& directory,
                                                  store_options given) {
  // RocksDB creates only the last level and fsyncs none of them: the data directory and db/
  // are created here, each new one made durable in its parent.
  if (auto error = durable_fs::create_directories(directory + "/db"))
    return make_error(error_code::unavailable,
                      "cannot create the data directory " + directory + ": " + describe(error));
  rocksdb::Options options;
  options.create_if_missing = true;
  options.create_missing_column_families = true;
  options.IncreaseParallelism(2);
  // Records are small and writes come in groups: 16 MiB memtables (two at most) flush often
  // enough to keep the resident write buffer small next to the jobs it describes.
  options.write_buffer_size = 16 << 20;
  options.max_write_buffer_number = 2;
  options.info_log = std::make_shared<store_logger>();
  // Point reads (a job's record at its dispatch, GET /v1/jobs/{id}) skip the files that cannot
  // hold the key instead of searching each level-0 file's index.
  rocksdb::BlockBasedTableOptions table;
  table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
  options.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const char* name : family_names) {
    rocksdb::ColumnFamilyOptions family(options);
    if (std::string_view(name) == column_name(column::listing_counts)) {
      family.merge_operator = std::make_shared<count_adder>();
      // A read merges every addition still in the memtable: past 32 the write merges them
      // instead, so a total costs the same at 100,000 jobs as at 10 (benchmarks/README.md).
      family.max_successive_merges = 32;
    }
    // Listing pages skip up to 10,000 index keys for an offset, newest first: a step back in a
    // memtable costs a search from its head, in a table file one step. Small memtables keep
    // most of the index in files.
    if (std::string_view(name) == column_name(column::job_listing) ||
        std::string_view(name) == column_name(column::account_jobs))
      family.write_buffer_size = 2 << 20;
    descriptors.emplace_back(name, family);
  }
  // RocksDB refuses to open a database without naming every family it has: families left by an
  // older version (e.g. "grant_keys") are opened too, after ours, and never used.
  std::vector<std::string> existing;
  if (rocksdb::DB::ListColumnFamilies(options, directory + "/db", &existing).ok())
    for (const auto& name : existing)
      if (std::find(std::begin(family_names), std::end(family_names), name) ==
          std::end(family_names))
        descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions(options));
  auto state = std::make_unique<impl>();
  rocksdb::DB* raw = nullptr;
  auto status = rocksdb::DB::Open(options, directory + "/db", descriptors, &state->families, &raw);
  if (!status.ok())
    return make_error(error_code::unavailable,
                      "cannot open storage in " + directory + "/db: " + status.ToString());
  state->db.reset(raw);
  state->write_options.sync = given.durability == durability_mode::fsync;
  auto* db = state->db.get();
  auto on_fatal = given.on_fatal ? given.on_fatal : [](const std::string&) {};
  state->health = std::make_unique<store_health>(
    store_health::options{directory, given.reserve_bytes, given.resume_interval},
    [db](std::string& why) { return resume(*db, why); }, std::move(on_fatal));
  return std::unique_ptr<store>(new store(std::move(state), std::move(given.faults)));
}

void store::commit_async(write_batch batch, commit_callback done) {
  {
    std::unique_lock lock(impl_->mutex);
    if (impl_->committer_done) {
      lock.unlock();
      return done(make_error(error_code::unavailable, "the store is closed"));
    }
    // While closing, a commit is answered in its turn (after those queued before it), so that
    // every caller hears of its commits in the order it made them.
    impl_->queue.push_back({std::move(batch), std::move(done), impl_->stopping});
  }
  impl_->wake.notify_one();
}

caf::error store::commit(write_batch batch) {
  std::mutex mutex;
  std::condition_variable finished;
  bool done = false;
  caf::error result;
  commit_async(std::move(batch), [&](const caf::error& failure) {
    std::lock_guard lock(mutex);
    result = failure;
    done = true;
    finished.notify_one();
  });
  std::unique_lock lock(mutex);
  finished.wait(lock, [&] { return done; });
  return result;
}

bool store::read_fault() const {
  auto left = faults_->store_read_failures.load();
  while (left > 0)
    if (faults_->store_read_failures.compare_exchange_weak(left, left - 1)) return true;
  return false;
}

read_result store::get(column family, std::string_view key) const {
  if (read_fault()) return injected_read_failure(family);
  std::shared_lock access(impl_->db_access);
  if (impl_->closed) return make_error(error_code::unavailable, "the store is closed");
  std::string value;
  auto status = impl_->db->Get(rocksdb::ReadOptions(), impl_->family(family), key, &value);
  if (status.IsNotFound()) return std::optional<std::string>{};
  if (!status.ok()) return store_failure("read", family, status);
  return std::optional<std::string>(std::move(value));
}

caf::error store::scan(column family, std::string_view prefix, const visitor& visit) const {
  return scan_after(family, prefix, {}, visit);
}

caf::error store::scan_after(column family, std::string_view prefix, std::string_view after,
                             const visitor& visit) const {
  if (read_fault()) return injected_read_failure(family);
  std::shared_lock access(impl_->db_access);
  if (impl_->closed) return make_error(error_code::unavailable, "the store is closed");
  std::string bound = upper_bound_of(prefix);
  rocksdb::Slice bound_slice(bound);
  rocksdb::ReadOptions options;
  if (!bound.empty()) options.iterate_upper_bound = &bound_slice;
  std::unique_ptr<rocksdb::Iterator> it(impl_->db->NewIterator(options, impl_->family(family)));
  if (after.empty()) it->Seek(prefix);
  else {
    it->Seek(after);
    if (it->Valid() && it->key() == rocksdb::Slice(after.data(), after.size())) it->Next();
  }
  for (; it->Valid(); it->Next()) {
    auto key = it->key();
    if (!key.starts_with(prefix)) break;
    if (!visit(std::string_view(key.data(), key.size()),
               std::string_view(it->value().data(), it->value().size())))
      return {};
  }
  if (!it->status().ok()) return store_failure("scan", family, it->status());
  return {};
}

caf::error store::scan_reverse(column family, std::string_view prefix, std::string_view before,
                               const visitor& visit) const {
  if (read_fault()) return injected_read_failure(family);
  std::shared_lock access(impl_->db_access);
  if (impl_->closed) return make_error(error_code::unavailable, "the store is closed");
  std::string bound = before.empty() ? upper_bound_of(prefix) : std::string(before);
  std::unique_ptr<rocksdb::Iterator> it(
    impl_->db->NewIterator(rocksdb::ReadOptions(), impl_->family(family)));
  if (bound.empty()) it->SeekToLast();
  else {
    it->SeekForPrev(bound);
    if (it->Valid() && it->key() == rocksdb::Slice(bound)) it->Prev();
  }
  for (; it->Valid(); it->Prev()) {
    auto key = it->key();
    if (!key.starts_with(prefix)) break;
    if (!visit(std::string_view(key.data(), key.size()),
               std::string_view(it->value().data(), it->value().size())))
      return {};
  }
  if (!it->status().ok()) return store_failure("scan", family, it->status());
  return {};
}

store_status store::status() const {
  auto s = impl_->health->current();
  return {s.writable, s.reason};
}

store_stats store::stats() const {
  store_stats result;
  {
    std::lock_guard lock(impl_->mutex);
    result = impl_->stats;
  }
  std::shared_lock access(impl_->db_access);
  if (impl_->closed) return result;
  impl_->db->GetAggregatedIntProperty(rocksdb::DB::Properties::kCurSizeAllMemTables,
                                      &result.memtable_bytes);
  impl_->db->GetAggregatedIntProperty(rocksdb::DB::Properties::kBlockCacheUsage,
                                      &result.block_cache_bytes);
  return result;
}

caf::error store::checkpoint(const std::string& directory) {
  std::shared_lock access(impl_->db_access);
  if (impl_->closed) return make_error(error_code::unavailable, "the store is closed");
  rocksdb::Checkpoint* raw = nullptr;
  auto status = rocksdb::Checkpoint::Create(impl_->db.get(), &raw);
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  if (status.ok()) status = checkpoint->CreateCheckpoint(directory);
  if (!status.ok()) {
    logs::get("store")->error(R"("event":"store.snapshot_failed","status":"{}")",
                              logs::json_text(status.ToString()));
    return make_error(error_code::unavailable, "snapshot failed; the server log says why");
  }
  return {};
}

void write_batch::add(column family, std::string key, std::int64_t delta) {
  ops.push_back({family, std::move(key), encode_count(delta), false, true});
}

std::string encode_count(std::int64_t value) {
  std::string bytes(8, '\0');
  auto bits = static_cast<std::uint64_t>(value);
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((bits >> (8 * i)) & 0xff);
  return bytes;
}

std::optional<std::int64_t> decode_count(std::string_view bytes) {
  if (bytes.size() != 8) return std::nullopt;
  std::uint64_t bits = 0;
  for (int i = 0; i < 8; ++i)
    bits |= std::uint64_t{static_cast<unsigned char>(bytes[i])} << (8 * i);
  return static_cast<std::int64_t>(bits);
}

}  // namespace kiln
