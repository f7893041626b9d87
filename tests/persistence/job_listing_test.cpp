// The job listing on a real store: jobs written with records::job_batch through their lives
// (new, processing, an end, soft delete, restore) keep the index and the counts exact; pages by
// offset and cursor, newest or oldest first, with and without a status; the counts survive a
// reopen; a store without the listing gets it built once, and building again changes nothing.
#include <catch2/catch.hpp>

#include "models/error.hpp"
#include "persistence/job_listing.hpp"
#include "persistence/records.hpp"
#include "persistence/store.hpp"
#include "tests/support/kiln_process.hpp"
#include "tests/support/test_store.hpp"

#include <map>
#include <string>
#include <vector>

using kiln::column;
using kiln::job;
using kiln::job_page;
using kiln::job_status;
using kiln::listing_query;
using kiln::store;

namespace listing = kiln::listing;
namespace records = kiln::records;

using kiln::test::open_store;

namespace {

/// Jobs of one account as the store holds them, changed only through job_batch.
struct account_jobs {
  store& db;
  std::string account_id;
  std::map<std::uint64_t, job> now;  ///< by seq

  void write(const job& next, const job* before) {
    auto failure = db.commit(records::job_batch(next, before));
    INFO(kiln::describe(failure));
    REQUIRE_FALSE(failure);
    now[next.seq] = next;
  }
  void create(std::uint64_t seq) {
    job j;
    j.id = account_id + "-job-" + std::to_string(seq);
    j.account_id = account_id;
    j.seq = seq;
    j.trace_id = "t";
    write(j, nullptr);
  }
  void change(std::uint64_t seq, job_status status, std::int64_t deleted_at = -1) {
    auto before = now.at(seq);
    auto next = before;
    next.status = status;
    if (deleted_at >= 0) next.deleted_at_ms = deleted_at;
    write(next, &before);
  }
  /// The seqs the listing should show, newest first, as computed from the jobs themselves.
  std::vector<std::uint64_t> expected(std::optional<job_status> status) const {
    std::vector<std::uint64_t> seqs;
    for (auto it = now.rbegin(); it != now.rend(); ++it)
      if (it->second.deleted_at_ms == 0 && (!status || it->second.status == *status))
        seqs.push_back(it->first);
    return seqs;
  }
};

job_page page_of(const store& db, listing_query q) {
  auto page = listing::page(db, q);
  INFO((page ? std::string() : kiln::describe(page.error())));
  REQUIRE(page);
  return std::move(*page);
}

std::vector<std::uint64_t> seqs(const job_page& page) {
  std::vector<std::uint64_t> out;
  for (const auto& j : page.data) out.push_back(j.seq);
  return out;
}

/// Every page of every (status, order) pair, by offset and by cursor, against `jobs`.
void check_listing(const store& db, const account_jobs& jobs) {
  std::vector<std::optional<job_status>> filters{std::nullopt,           job_status::queued,
                                                 job_status::processing, job_status::succeeded,
                                                 job_status::failed,     job_status::canceled};
  for (auto status : filters)
    for (bool oldest : {false, true}) {
      auto want = jobs.expected(status);
      if (oldest) std::reverse(want.begin(), want.end());
      INFO("status " << (status ? kiln::status_name(*status) : "all") << ", oldest " << oldest);
      auto total = listing::total(db, jobs.account_id, status);
      REQUIRE(total);
      CHECK(*total == want.size());
      for (std::uint32_t offset = 0; offset <= want.size() + 1; offset += 3) {
        auto page = page_of(db, {jobs.account_id, 4, status, {}, offset, oldest});
        std::vector<std::uint64_t> slice;
        for (std::size_t i = offset; i < want.size() && slice.size() < 4; ++i)
          slice.push_back(want[i]);
        CHECK(seqs(page) == slice);
        CHECK(page.total == want.size());
        CHECK(page.has_more == (offset + 4 < want.size()));
      }
      std::vector<std::uint64_t> walked;
      listing_query q{jobs.account_id, 3, status, {}, 0, oldest};
      for (int pages = 0; pages < 100; ++pages) {
        auto page = page_of(db, q);
        for (auto s : seqs(page)) walked.push_back(s);
        if (!page.has_more) break;
        q.cursor = page.next_cursor;
      }
      CHECK(walked == want);
    }
}

}  // namespace

TEST_CASE("the listing follows jobs through their lives, by offset and cursor, both orders",
          "[persistence][listing]") {
  kiln::test::temp_dir dir;
  auto db = open_store(dir.path().string());
  account_jobs a{*db, "acct_a", {}};
  account_jobs b{*db, "acct_b", {}};  // another account's jobs never show
  for (std::uint64_t seq = 1; seq <= 23; ++seq) a.create(seq);
  for (std::uint64_t seq = 1; seq <= 5; ++seq) b.create(seq);
  for (std::uint64_t seq = 2; seq <= 20; seq += 2) a.change(seq, job_status::processing);
  for (std::uint64_t seq = 4; seq <= 20; seq += 4) a.change(seq, job_status::succeeded);
  a.change(6, job_status::failed);
  a.change(7, job_status::canceled);
  a.change(8, job_status::succeeded, 1000);  // soft-deleted
  a.change(12, job_status::succeeded, 1000);
  a.change(12, job_status::succeeded, 0);  // restored
  a.change(16, job_status::succeeded, 2000);
  check_listing(*db, a);
  check_listing(*db, b);

  SECTION("a write that changes nothing listed leaves the counts alone") {
    a.change(3, job_status::queued);
    a.change(8, job_status::succeeded, 3000);  // deleted again: still hidden
    check_listing(*db, a);
  }
  SECTION("the counts and index survive a reopen") {
    db.reset();
    auto again = open_store(dir.path().string());
    check_listing(*again, a);
  }
}

TEST_CASE("offset is bounded by what the index holds and filters never scan other statuses",
          "[persistence][listing]") {
  kiln::test::temp_dir dir;
  auto db = open_store(dir.path().string());
  account_jobs a{*db, "acct_a", {}};
  for (std::uint64_t seq = 1; seq <= 50; ++seq) a.create(seq);
  for (std::uint64_t seq = 1; seq <= 50; ++seq)
    if (seq % 10 == 0) a.change(seq, job_status::failed);
  auto failed = page_of(*db, {"acct_a", 100, job_status::failed, {}, 0, false});
  CHECK(seqs(failed) == std::vector<std::uint64_t>{50, 40, 30, 20, 10});
  auto past_end = page_of(*db, {"acct_a", 10, std::nullopt, {}, 60, false});
  CHECK(past_end.data.empty());
  CHECK_FALSE(past_end.has_more);
  CHECK(past_end.total == 50);
}

TEST_CASE("a store written before the listing gets it built once, and again changes nothing",
          "[persistence][listing]") {
  kiln::test::temp_dir dir;
  auto db = open_store(dir.path().string());
  account_jobs a{*db, "acct_a", {}};
  for (std::uint64_t seq = 1; seq <= 30; ++seq) a.create(seq);
  for (std::uint64_t seq = 1; seq <= 30; seq += 3) a.change(seq, job_status::succeeded);
  a.change(2, job_status::failed, 500);
  // What an older Kiln left: the records and account_jobs, no status index or counts.
  kiln::write_batch wipe;
  for (const auto& [seq, j] : a.now)
    wipe.erase(column::job_listing, "acct_a/" + std::string(kiln::status_name(j.status)) + "/" +
                                      records::account_job_key("", seq).substr(1));
  for (auto tag : {"queued", "processing", "succeeded", "failed", "canceled"})
    wipe.erase(column::listing_counts, std::string("acct_a/") + tag);
  REQUIRE_FALSE(db->commit(std::move(wipe)));
  auto empty = listing::total(*db, "acct_a", std::nullopt);
  REQUIRE(empty);
  REQUIRE(*empty == 0);

  REQUIRE_FALSE(listing::build_once(*db, {}));
  check_listing(*db, a);
  REQUIRE_FALSE(listing::build_once(*db, {}));  // built: nothing to do
  check_listing(*db, a);
  // A build interrupted before its last batch runs again from the start: the same result.
  kiln::write_batch forget;
  forget.erase(column::meta, "job_listing");
  REQUIRE_FALSE(db->commit(std::move(forget)));
  REQUIRE_FALSE(listing::build_once(*db, {}));
  check_listing(*db, a);
  // Jobs written after the build keep it exact.
  a.create(31);
  a.change(31, job_status::processing);
  check_listing(*db, a);
}
