// Unit tests for the RocksDB store: durable commits, reopening, prefix and reverse scans with a
// cursor, group commit under concurrency, injected write failures, close, and the directory lock.
#include <catch2/catch.hpp>

#include "models/error.hpp"
#include "persistence/store.hpp"
#include "tests/support/kiln_process.hpp"
#include "tests/support/test_store.hpp"

#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

using kiln::column;
using kiln::store;
using kiln::write_batch;

using kiln::test::temp_dir;

using kiln::test::open_store;

namespace {

void commit_ok(store& db, write_batch batch) {
  auto failure = db.commit(std::move(batch));
  INFO("commit error: " << kiln::describe(failure));
  REQUIRE_FALSE(failure);
}

/// Whether the commit was written.
bool committed(store& db, write_batch batch) { return !db.commit(std::move(batch)); }

/// The value under `key`, nullopt when absent; a failed read fails the test.
std::optional<std::string> value_of(const store& db, column family, std::string_view key) {
  auto value = db.get(family, key);
  INFO("read error: " << (value ? std::string() : kiln::describe(value.error())));
  REQUIRE(value);
  return *value;
}

/// Counts callbacks and wakes a waiter once `expected` of them came.
class callbacks {
public:
  explicit callbacks(int expected) : expected_(expected) {}
  void count() {
    std::lock_guard lock(mutex_);
    if (++seen_ >= expected_) all_.notify_all();
  }
  /// Waits until all came (or 60 s, a hang); how many came.
  int wait() {
    std::unique_lock lock(mutex_);
    all_.wait_for(lock, std::chrono::seconds(60), [&] { return seen_ >= expected_; });
    return seen_;
  }

private:
  std::mutex mutex_;
  std::condition_variable all_;
  int expected_;
  int seen_ = 0;
};

write_batch puts(column family, const std::vector<std::string>& keys) {
  write_batch batch;
  for (const auto& key : keys) batch.put(family, key, "value of " + key);
  return batch;
}

std::vector<std::string> scan_keys(const store& db, std::string_view prefix) {
  std::vector<std::string> keys;
  auto failed = db.scan(column::account_jobs, prefix, [&](std::string_view key, std::string_view) {
    keys.emplace_back(key);
    return true;
  });
  REQUIRE_FALSE(failed);
  return keys;
}

std::vector<std::string> reverse_keys(const store& db, std::string_view prefix,
                                      std::string_view before) {
  std::vector<std::string> keys;
  auto failed = db.scan_reverse(column::account_jobs, prefix, before,
                                [&](std::string_view key, std::string_view) {
                                  keys.emplace_back(key);
                                  return true;
                                });
  REQUIRE_FALSE(failed);
  return keys;
}

using keys = std::vector<std::string>;

}  // namespace

TEST_CASE("a committed write can be read back, only in its column family", "[persistence]") {
  temp_dir dir;
  auto db = open_store(dir.path().string());
  write_batch batch;
  batch.put(column::jobs, "job_1", "payload");
  batch.put(column::accounts, "acct_1", "account");
  commit_ok(*db, std::move(batch));
  CHECK(value_of(*db, column::jobs, "job_1") == std::optional<std::string>("payload"));
  CHECK(value_of(*db, column::accounts, "acct_1") == std::optional<std::string>("account"));
  CHECK_FALSE(value_of(*db, column::accounts, "job_1").has_value());
  CHECK_FALSE(value_of(*db, column::jobs, "job_2").has_value());
}

TEST_CASE("a later commit overwrites and erase removes a key", "[persistence]") {
  temp_dir dir;
  auto db = open_store(dir.path().string());
  commit_ok(*db, puts(column::jobs, {"job_1"}));
  write_batch update;
  update.put(column::jobs, "job_1", "v2");
  commit_ok(*db, std::move(update));
  CHECK(value_of(*db, column::jobs, "job_1") == std::optional<std::string>("v2"));
  write_batch removal;
  removal.erase(column::jobs, "job_1");
  commit_ok(*db, std::move(removal));
  CHECK_FALSE(value_of(*db, column::jobs, "job_1").has_value());
}

TEST_CASE("committed data survives closing and reopening the store", "[persistence]") {
  temp_dir dir;
  {
    auto db = open_store(dir.path().string());
    write_batch batch;
    batch.put(column::keys, "hash", std::string("binary\0value", 12));
    batch.put(column::meta, "url_signing_key", "k");
    commit_ok(*db, std::move(batch));
    db->close();
  }
  auto reopened = open_store(dir.path().string());
  CHECK(value_of(*reopened, column::keys, "hash") ==
        std::optional<std::string>(std::string("binary\0value", 12)));
  CHECK(value_of(*reopened, column::meta, "url_signing_key") == std::optional<std::string>("k"));
}

TEST_CASE("scan visits exactly the keys with the prefix, in ascending order", "[persistence]") {
  temp_dir dir;
  auto db = open_store(dir.path().string());
  commit_ok(*db, puts(column::account_jobs, {"acct_1/03", "acct_10/01", "acct_1/01", "acct_2/01",
                                             "acct_1/02", "acct_0/09"}));
  CHECK(scan_keys(*db, "acct_1/") == keys{"acct_1/01", "acct_1/02", "acct_1/03"});
  CHECK(scan_keys(*db, "acct_2/") == keys{"acct_2/01"});
  CHECK(scan_keys(*db, "acct_3/").empty());
  CHECK(scan_keys(*db, "").size() == 6);
  std::vector<std::string> first_two;
  db->scan(column::account_jobs, "acct_1/", [&](std::string_view key, std::string_view value) {
    CHECK(value == "value of " + std::string(key));
    first_two.emplace_back(key);
    return first_two.size() < 2;
  });
  CHECK(first_two == keys{"acct_1/01", "acct_1/02"});
}

TEST_CASE("scan_reverse lists a prefix newest first and a cursor excludes itself",
          "[persistence]") {
  temp_dir dir;
  auto db = open_store(dir.path().string());
  commit_ok(*db, puts(column::account_jobs, {"acct_0/09", "acct_1/01", "acct_1/02", "acct_1/03",
                                             "acct_1/04", "acct_10/01", "acct_2/01"}));
  CHECK(reverse_keys(*db, "acct_1/", "") ==
        keys{"acct_1/04", "acct_1/03", "acct_1/02", "acct_1/01"});
  CHECK(reverse_keys(*db, "acct_2/", "") == keys{"acct_2/01"});
  CHECK(reverse_keys(*db, "acct_0/", "") == keys{"acct_0/09"});
  CHECK(reverse_keys(*db, "acct_9/", "").empty());
  // Cursor semantics: `before` is the last key of the previous page; the next page starts after it.
  CHECK(reverse_keys(*db, "acct_1/", "acct_1/03") == keys{"acct_1/02", "acct_1/01"});
  CHECK(reverse_keys(*db, "acct_1/", "acct_1/025") == keys{"acct_1/02", "acct_1/01"});
  CHECK(reverse_keys(*db, "acct_1/", "acct_1/01").empty());
  std::vector<std::string> page;
  db->scan_reverse(column::account_jobs, "acct_1/", "",
                   [&](std::string_view key, std::string_view) {
                     page.emplace_back(key);
                     return page.size() < 2;
                   });
  CHECK(page == keys{"acct_1/04", "acct_1/03"});
  CHECK(reverse_keys(*db, "acct_1/", page.back()) == keys{"acct_1/02", "acct_1/01"});
}

TEST_CASE("concurrent commits all succeed and share synced writes", "[persistence]") {
  temp_dir dir;
  auto db = open_store(dir.path().string());
  constexpr int threads = 8;
  constexpr int per_thread = 200;
  std::atomic<int> ok{0}, failed{0};
  callbacks done(threads * per_thread);
  std::vector<std::thread> writers;
  for (int t = 0; t < threads; ++t)
    writers.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        write_batch batch;
        batch.put(column::jobs, "job_" + std::to_string(t) + "_" + std::to_string(i), "v");
        db->commit_async(std::move(batch), [&](const caf::error& failure) {
          (failure ? failed : ok).fetch_add(1);
          done.count();
        });
      }
    });
  for (auto& w : writers) w.join();
  REQUIRE(done.wait() == threads * per_thread);
  CHECK(ok.load() == threads * per_thread);
  CHECK(failed.load() == 0);
  auto stats = db->stats();
  INFO("batches " << stats.batches << ", groups " << stats.groups);
  CHECK(stats.batches == static_cast<std::uint64_t>(threads * per_thread));
  CHECK(stats.groups < stats.batches);
  CHECK(stats.failures == 0);
  CHECK(value_of(*db, column::jobs, "job_0_0").has_value());
  CHECK(value_of(*db, column::jobs, "job_7_199").has_value());
}

TEST_CASE("an injected write failure fails that commit whole and the next one succeeds",
          "[persistence]") {
  temp_dir dir;
  auto db = open_store(dir.path().string());
  db->fail_next_writes(1);
  auto failure = db->commit(puts(column::jobs, {"job_a", "job_b"}));
  CHECK(failure);
  CHECK(kiln::has_code(failure, kiln::error_code::unavailable));
  CHECK_FALSE(value_of(*db, column::jobs, "job_a").has_value());
  CHECK_FALSE(value_of(*db, column::jobs, "job_b").has_value());
  CHECK(db->stats().failures == 1);
  commit_ok(*db, puts(column::jobs, {"job_c"}));
  CHECK(value_of(*db, column::jobs, "job_c").has_value());
  CHECK_FALSE(value_of(*db, column::jobs, "job_a").has_value());
}

TEST_CASE("an injected failure reaches the commit_async callback as an error", "[persistence]") {
  temp_dir dir;
  auto db = open_store(dir.path().string());
  db->fail_next_writes(1);
  callbacks answered(1);
  caf::error reported;
  db->commit_async(puts(column::jobs, {"job_x"}), [&](const caf::error& failure) {
    reported = failure;
    answered.count();
  });
  REQUIRE(answered.wait() == 1);
  CHECK(kiln::has_code(reported, kiln::error_code::unavailable));
  CHECK_FALSE(value_of(*db, column::jobs, "job_x").has_value());
}

TEST_CASE("after close, commits and reads fail at once as unavailable", "[persistence]") {
  temp_dir dir;
  auto db = open_store(dir.path().string());
  commit_ok(*db, puts(column::account_jobs, {"acct_1/01"}));
  db->close();
  CHECK_FALSE(committed(*db, puts(column::jobs, {"job_late"})));
  bool called = false;
  db->commit_async(puts(column::jobs, {"job_later"}), [&](const caf::error& failure) {
    called = true;
    CHECK(failure);
  });
  CHECK(called);  // synchronously, without waiting for a committer
  auto read = db->get(column::account_jobs, "acct_1/01");
  REQUIRE_FALSE(read);  // a closed store is a failed read, never "not found"
  CHECK(kiln::has_code(read.error(), kiln::error_code::unavailable));
  auto visit = [](std::string_view, std::string_view) { return true; };
  CHECK(kiln::has_code(db->scan(column::account_jobs, "", visit), kiln::error_code::unavailable));
  CHECK(kiln::has_code(db->scan_reverse(column::account_jobs, "", "", visit),
                       kiln::error_code::unavailable));
  db->close();  // a second close is harmless
}

TEST_CASE("an injected read failure fails the read and the scan as unavailable, not absent",
          "[persistence]") {
  temp_dir dir;
  auto db = open_store(dir.path().string());
  commit_ok(*db, puts(column::jobs, {"job_1"}));
  db->fail_next_reads(2);
  auto read = db->get(column::jobs, "job_1");
  REQUIRE_FALSE(read);
  CHECK(kiln::has_code(read.error(), kiln::error_code::unavailable));
  bool visited = false;
  auto scanned = db->scan(column::jobs, "", [&](std::string_view, std::string_view) {
    visited = true;
    return true;
  });
  CHECK(kiln::has_code(scanned, kiln::error_code::unavailable));
  CHECK_FALSE(visited);
  CHECK(value_of(*db, column::jobs, "job_1").has_value());  // the fault is spent
}

TEST_CASE("a second store on an open directory is refused with a message", "[persistence]") {
  temp_dir dir;
  auto first = open_store(dir.path().string());
  auto second = store::open(dir.path().string(), kiln::durability_mode::fsync);
  REQUIRE_FALSE(second);
  auto error = kiln::describe(second.error());
  INFO("error: " << error);
  CHECK_THAT(error, Catch::Contains("lock", Catch::CaseSensitive::No));
  first.reset();
  auto third = store::open(dir.path().string(), kiln::durability_mode::fsync);
  CHECK(third);
}

TEST_CASE("a batch built on a failed batch fails without being written", "[persistence]") {
  temp_dir dir;
  auto db = open_store(dir.path().string());
  db->fail_next_writes(1);
  write_batch first;
  first.put(column::jobs, "first", "1");
  first.token = std::make_shared<kiln::commit_token>();
  auto first_token = first.token;
  CHECK_FALSE(committed(*db, std::move(first)));
  write_batch second;
  second.put(column::jobs, "second", "2");
  second.after = first_token;
  CHECK_FALSE(committed(*db, std::move(second)));
  CHECK_FALSE(value_of(*db, column::jobs, "second").has_value());
  write_batch independent;
  independent.put(column::jobs, "third", "3");
  CHECK(committed(*db, std::move(independent)));  // the failure was not spent on `second`
  CHECK(value_of(*db, column::jobs, "third") == std::optional<std::string>("3"));
}

TEST_CASE("a batch built on a written batch is written", "[persistence]") {
  temp_dir dir;
  auto db = open_store(dir.path().string());
  write_batch first;
  first.put(column::jobs, "first", "1");
  first.token = std::make_shared<kiln::commit_token>();
  write_batch second;
  second.put(column::jobs, "second", "2");
  second.after = first.token;
  CHECK(committed(*db, std::move(first)));
  CHECK(committed(*db, std::move(second)));
  CHECK(value_of(*db, column::jobs, "second") == std::optional<std::string>("2"));
}

TEST_CASE("a chain of batches after a failed batch is dropped whole even within one group",
          "[persistence]") {
  temp_dir dir;
  auto db = open_store(dir.path().string());
  db->fail_next_writes(1);
  write_batch first;
  first.put(column::jobs, "first", "1");
  first.token = std::make_shared<kiln::commit_token>();
  auto first_token = first.token;
  CHECK_FALSE(committed(*db, std::move(first)));
  // second and third are queued together, so the committer takes them in one group.
  callbacks answered(2);
  std::atomic<int> written{0};
  auto done = [&](const caf::error& failure) {
    written += failure ? 0 : 1;
    answered.count();
  };
  write_batch second;
  second.put(column::jobs, "second", "2");
  second.after = first_token;
  second.token = std::make_shared<kiln::commit_token>();
  write_batch third;
  third.put(column::jobs, "third", "3");
  third.after = second.token;
  db->commit_async(std::move(second), done);
  db->commit_async(std::move(third), done);
  REQUIRE(answered.wait() == 2);
  CHECK(written == 0);
  CHECK_FALSE(value_of(*db, column::jobs, "second").has_value());
  CHECK_FALSE(value_of(*db, column::jobs, "third").has_value());
}
