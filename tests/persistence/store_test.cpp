// Unit tests for the RocksDB store: durable commits, reopening, prefix and reverse scans with a
// cursor, group commit under concurrency, injected write failures, close, and the directory lock.
#include <catch2/catch.hpp>

#include "tests/support/kiln_process.hpp"
#include "persistence/store.hpp"

#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

using kiln::column;
using kiln::store;
using kiln::write_batch;

using kiln::test::temp_dir;

namespace {


std::unique_ptr<store> open_store(const std::string& dir) {
  std::string error;
  auto db = store::open(dir, kiln::durability_mode::fsync, error);
  INFO("open error: " << error);
  REQUIRE(db != nullptr);
  return db;
}

void commit_ok(store& db, write_batch batch) {
  std::string error;
  bool ok = db.commit(std::move(batch), error);
  INFO("commit error: " << error);
  REQUIRE(ok);
}

write_batch puts(column family, const std::vector<std::string>& keys) {
  write_batch batch;
  for (const auto& key : keys) batch.put(family, key, "value of " + key);
  return batch;
}

std::vector<std::string> scan_keys(const store& db, std::string_view prefix) {
  std::vector<std::string> keys;
  db.scan(column::account_jobs, prefix, [&](std::string_view key, std::string_view) {
    keys.emplace_back(key);
    return true;
  });
  return keys;
}

std::vector<std::string> reverse_keys(const store& db, std::string_view prefix,
                                      std::string_view before) {
  std::vector<std::string> keys;
  db.scan_reverse(column::account_jobs, prefix, before, [&](std::string_view key, std::string_view) {
    keys.emplace_back(key);
    return true;
  });
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
  CHECK(db->get(column::jobs, "job_1") == std::optional<std::string>("payload"));
  CHECK(db->get(column::accounts, "acct_1") == std::optional<std::string>("account"));
  CHECK_FALSE(db->get(column::accounts, "job_1").has_value());
  CHECK_FALSE(db->get(column::jobs, "job_2").has_value());
}

TEST_CASE("a later commit overwrites and erase removes a key", "[persistence]") {
  temp_dir dir;
  auto db = open_store(dir.path().string());
  commit_ok(*db, puts(column::jobs, {"job_1"}));
  write_batch update;
  update.put(column::jobs, "job_1", "v2");
  commit_ok(*db, std::move(update));
  CHECK(db->get(column::jobs, "job_1") == std::optional<std::string>("v2"));
  write_batch removal;
  removal.erase(column::jobs, "job_1");
  commit_ok(*db, std::move(removal));
  CHECK_FALSE(db->get(column::jobs, "job_1").has_value());
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
  CHECK(reopened->get(column::keys, "hash") == std::optional<std::string>(std::string("binary\0value", 12)));
  CHECK(reopened->get(column::meta, "url_signing_key") == std::optional<std::string>("k"));
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

TEST_CASE("scan_reverse lists a prefix newest first and a cursor excludes itself", "[persistence]") {
  temp_dir dir;
  auto db = open_store(dir.path().string());
  commit_ok(*db, puts(column::account_jobs, {"acct_0/09", "acct_1/01", "acct_1/02", "acct_1/03",
                                             "acct_1/04", "acct_10/01", "acct_2/01"}));
  CHECK(reverse_keys(*db, "acct_1/", "") == keys{"acct_1/04", "acct_1/03", "acct_1/02", "acct_1/01"});
  CHECK(reverse_keys(*db, "acct_2/", "") == keys{"acct_2/01"});
  CHECK(reverse_keys(*db, "acct_0/", "") == keys{"acct_0/09"});
  CHECK(reverse_keys(*db, "acct_9/", "").empty());
  // Cursor semantics: `before` is the last key of the previous page; the next page starts after it.
  CHECK(reverse_keys(*db, "acct_1/", "acct_1/03") == keys{"acct_1/02", "acct_1/01"});
  CHECK(reverse_keys(*db, "acct_1/", "acct_1/025") == keys{"acct_1/02", "acct_1/01"});
  CHECK(reverse_keys(*db, "acct_1/", "acct_1/01").empty());
  std::vector<std::string> page;
  db->scan_reverse(column::account_jobs, "acct_1/", "", [&](std::string_view key, std::string_view) {
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
  std::atomic<int> ok{0}, failed{0}, done{0};
  std::vector<std::thread> writers;
  for (int t = 0; t < threads; ++t)
    writers.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        write_batch batch;
        batch.put(column::jobs, "job_" + std::to_string(t) + "_" + std::to_string(i), "v");
        db->commit_async(std::move(batch), [&](bool success, const std::string&) {
          (success ? ok : failed).fetch_add(1);
          done.fetch_add(1);
        });
      }
    });
  for (auto& w : writers) w.join();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (done.load() < threads * per_thread && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  REQUIRE(done.load() == threads * per_thread);
  CHECK(ok.load() == threads * per_thread);
  CHECK(failed.load() == 0);
  auto stats = db->stats();
  INFO("batches " << stats.batches << ", groups " << stats.groups);
  CHECK(stats.batches == static_cast<std::uint64_t>(threads * per_thread));
  CHECK(stats.groups < stats.batches);
  CHECK(stats.failures == 0);
  CHECK(db->get(column::jobs, "job_0_0").has_value());
  CHECK(db->get(column::jobs, "job_7_199").has_value());
}

TEST_CASE("an injected write failure fails that commit whole and the next one succeeds",
          "[persistence]") {
  temp_dir dir;
  auto db = open_store(dir.path().string());
  db->fail_next_writes(1);
  std::string error;
  CHECK_FALSE(db->commit(puts(column::jobs, {"job_a", "job_b"}), error));
  CHECK_FALSE(error.empty());
  CHECK_FALSE(db->get(column::jobs, "job_a").has_value());
  CHECK_FALSE(db->get(column::jobs, "job_b").has_value());
  CHECK(db->stats().failures == 1);
  commit_ok(*db, puts(column::jobs, {"job_c"}));
  CHECK(db->get(column::jobs, "job_c").has_value());
  CHECK_FALSE(db->get(column::jobs, "job_a").has_value());
}

TEST_CASE("an injected failure reaches the commit_async callback as ok=false", "[persistence]") {
  temp_dir dir;
  auto db = open_store(dir.path().string());
  db->fail_next_writes(1);
  std::atomic<int> state{0};  // 0 pending, 1 ok, 2 failed
  std::string message;
  db->commit_async(puts(column::jobs, {"job_x"}), [&](bool ok, const std::string& error) {
    message = error;
    state = ok ? 1 : 2;
  });
  for (int i = 0; i < 2000 && state.load() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  CHECK(state.load() == 2);
  CHECK_FALSE(message.empty());
  CHECK_FALSE(db->get(column::jobs, "job_x").has_value());
}

TEST_CASE("after close, commits fail at once and reads find nothing", "[persistence]") {
  temp_dir dir;
  auto db = open_store(dir.path().string());
  commit_ok(*db, puts(column::account_jobs, {"acct_1/01"}));
  db->close();
  std::string error;
  CHECK_FALSE(db->commit(puts(column::jobs, {"job_late"}), error));
  CHECK_FALSE(error.empty());
  bool called = false;
  db->commit_async(puts(column::jobs, {"job_later"}), [&](bool ok, const std::string&) {
    called = true;
    CHECK_FALSE(ok);
  });
  CHECK(called);  // synchronously, without waiting for a committer
  CHECK_FALSE(db->get(column::account_jobs, "acct_1/01").has_value());
  CHECK(scan_keys(*db, "").empty());
  CHECK(reverse_keys(*db, "", "").empty());
  db->close();  // a second close is harmless
}

TEST_CASE("a second store on an open directory is refused with a message", "[persistence]") {
  temp_dir dir;
  auto first = open_store(dir.path().string());
  std::string error;
  auto second = store::open(dir.path().string(), kiln::durability_mode::fsync, error);
  CHECK(second == nullptr);
  CHECK_FALSE(error.empty());
  INFO("error: " << error);
  CHECK_THAT(error, Catch::Contains("lock", Catch::CaseSensitive::No));
  first.reset();
  std::string again;
  auto third = store::open(dir.path().string(), kiln::durability_mode::fsync, again);
  INFO("reopen error: " << again);
  CHECK(third != nullptr);
}

TEST_CASE("a batch built on a failed batch fails without being written", "[persistence]") {
  temp_dir dir;
  auto db = open_store(dir.path().string());
  std::string error;
  db->fail_next_writes(1);
  write_batch first;
  first.put(column::jobs, "first", "1");
  first.token = std::make_shared<kiln::commit_token>();
  auto first_token = first.token;
  CHECK_FALSE(db->commit(std::move(first), error));
  write_batch second;
  second.put(column::jobs, "second", "2");
  second.after = first_token;
  CHECK_FALSE(db->commit(std::move(second), error));
  CHECK_FALSE(db->get(column::jobs, "second").has_value());
  write_batch independent;
  independent.put(column::jobs, "third", "3");
  CHECK(db->commit(std::move(independent), error));  // the failure was not spent on `second`
  CHECK(db->get(column::jobs, "third") == std::optional<std::string>("3"));
}

TEST_CASE("a batch built on a written batch is written", "[persistence]") {
  temp_dir dir;
  auto db = open_store(dir.path().string());
  std::string error;
  write_batch first;
  first.put(column::jobs, "first", "1");
  first.token = std::make_shared<kiln::commit_token>();
  write_batch second;
  second.put(column::jobs, "second", "2");
  second.after = first.token;
  CHECK(db->commit(std::move(first), error));
  CHECK(db->commit(std::move(second), error));
  CHECK(db->get(column::jobs, "second") == std::optional<std::string>("2"));
}

TEST_CASE("a chain of batches after a failed batch is dropped whole even within one group",
          "[persistence]") {
  temp_dir dir;
  auto db = open_store(dir.path().string());
  std::string error;
  db->fail_next_writes(1);
  write_batch first;
  first.put(column::jobs, "first", "1");
  first.token = std::make_shared<kiln::commit_token>();
  auto first_token = first.token;
  CHECK_FALSE(db->commit(std::move(first), error));
  // second and third are queued together, so the committer takes them in one group.
  std::atomic<int> answered{0};
  std::atomic<int> written{0};
  auto done = [&](bool ok, const std::string&) {
    written += ok;
    answered += 1;
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
  for (int i = 0; i < 1000 && answered < 2; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  REQUIRE(answered == 2);
  CHECK(written == 0);
  CHECK_FALSE(db->get(column::jobs, "second").has_value());
  CHECK_FALSE(db->get(column::jobs, "third").has_value());
}
