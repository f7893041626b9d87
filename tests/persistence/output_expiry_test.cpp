// The output expiry index on a real store: job_batch puts a job's key when it succeeds with
// outputs and erases it when its outputs expire, never for failed, canceled or output-less jobs,
// and leaves it alone through soft delete and restore; `due` reads the front of it in completion
// order up to a time and a count; a store without the index gets it built once.
#include <catch2/catch.hpp>

#include "models/error.hpp"
#include "persistence/output_expiry.hpp"
#include "persistence/output_files.hpp"
#include "persistence/records.hpp"
#include "persistence/store.hpp"
#include "tests/support/kiln_process.hpp"
#include "tests/support/test_store.hpp"

#include <filesystem>
#include <string>
#include <vector>

using kiln::column;
using kiln::job;
using kiln::job_status;
using kiln::store;

namespace output_expiry = kiln::output_expiry;
namespace records = kiln::records;

using kiln::test::open_store;

namespace {

job queued(const std::string& id, std::uint64_t seq) {
  job j;
  j.id = id;
  j.account_id = "acct_a";
  j.seq = seq;
  j.trace_id = "t";
  return j;
}

job finished(job j, job_status status, std::int64_t completed_at_ms, bool outputs = true) {
  j.status = status;
  j.completed_at_ms = completed_at_ms;
  if (outputs) j.outputs.push_back({j.id + "-0.png", "image/png", 10, "primary", 32, 32, 0});
  return j;
}

void write(store& db, const job& next, const job* before) {
  auto failure = db.commit(records::job_batch(next, before));
  INFO(kiln::describe(failure));
  REQUIRE_FALSE(failure);
}

std::vector<std::string> due_ids(const store& db, std::int64_t max, std::size_t limit) {
  std::vector<output_expiry::entry> entries;
  REQUIRE_FALSE(output_expiry::due(db, max, limit, entries));
  std::vector<std::string> ids;
  for (const auto& e : entries) {
    CHECK(e.account_id == "acct_a");
    ids.push_back(e.job_id);
  }
  return ids;
}

}  // namespace

TEST_CASE("a job's expiry key follows its life and due reads them in completion order",
          "[persistence]") {
  kiln::test::temp_dir dir;
  auto db = open_store(dir.path().string());
  // Completion times out of creation order, one job of each kind of end.
  struct plan {
    std::string id;
    job_status status;
    std::int64_t completed_at_ms;
    bool outputs;
  };
  std::vector<plan> plans{
    {"job_a", job_status::succeeded, 5000, true},  {"job_b", job_status::succeeded, 1000, true},
    {"job_c", job_status::failed, 500, false},     {"job_d", job_status::canceled, 700, false},
    {"job_e", job_status::succeeded, 3000, false}, {"job_f", job_status::succeeded, 3000, true}};
  std::vector<job> stored;
  std::uint64_t seq = 0;
  for (const auto& p : plans) {
    auto j = queued(p.id, ++seq);
    write(*db, j, nullptr);
    auto running = j;
    running.status = job_status::processing;
    write(*db, running, &j);
    auto done = finished(running, p.status, p.completed_at_ms, p.outputs);
    write(*db, done, &running);
    stored.push_back(done);
  }
  CHECK(due_ids(*db, 100'000, 10) == std::vector<std::string>{"job_b", "job_f", "job_a"});
  CHECK(due_ids(*db, 2999, 10) == std::vector<std::string>{"job_b"});
  CHECK(due_ids(*db, 3000, 10) == std::vector<std::string>{"job_b", "job_f"});
  CHECK(due_ids(*db, 100'000, 1) == std::vector<std::string>{"job_b"});
  CHECK(due_ids(*db, 999, 10).empty());
  CHECK(due_ids(*db, -1, 10).empty());

  // Soft delete and restore keep the key; expiry erases it, in the record's batch.
  auto deleted = stored[1];
  deleted.deleted_at_ms = 6000;
  write(*db, deleted, &stored[1]);
  CHECK(due_ids(*db, 100'000, 10) == std::vector<std::string>{"job_b", "job_f", "job_a"});
  auto expired = deleted;
  expired.outputs_expired_at_ms = 7000;
  write(*db, expired, &deleted);
  CHECK(due_ids(*db, 100'000, 10) == std::vector<std::string>{"job_f", "job_a"});
  auto restored = expired;
  restored.deleted_at_ms = 0;
  write(*db, restored, &expired);
  CHECK(due_ids(*db, 100'000, 10) == std::vector<std::string>{"job_f", "job_a"});
  auto back = records::decode_job(*db->get(column::jobs, "job_b").value());
  REQUIRE(back.has_value());
  CHECK(back->outputs_expired_at_ms == 7000);
  CHECK(back->outputs.size() == 1);
}

TEST_CASE("a store without the expiry index gets it built once", "[persistence]") {
  kiln::test::temp_dir dir;
  auto db = open_store(dir.path().string());
  auto a = finished(queued("job_a", 1), job_status::succeeded, 2000);
  auto b = finished(queued("job_b", 2), job_status::succeeded, 1000);
  auto c = finished(queued("job_c", 3), job_status::failed, 1500, false);
  auto d = finished(queued("job_d", 4), job_status::succeeded, 900);
  d.outputs_expired_at_ms = 5000;
  kiln::write_batch old;  // records as a version before the index wrote them
  for (const auto* j : {&a, &b, &c, &d}) old.put(column::jobs, j->id, records::encode(*j));
  REQUIRE_FALSE(db->commit(std::move(old)));
  CHECK(due_ids(*db, 100'000, 10).empty());
  REQUIRE_FALSE(output_expiry::build_once(*db, {}));
  CHECK(due_ids(*db, 100'000, 10) == std::vector<std::string>{"job_b", "job_a"});
  // Built: a later run changes nothing, even where the index was changed since.
  kiln::write_batch wipe;
  wipe.erase(column::output_expiry, output_expiry::key(2000, "job_a"));
  REQUIRE_FALSE(db->commit(std::move(wipe)));
  REQUIRE_FALSE(output_expiry::build_once(*db, {}));
  CHECK(due_ids(*db, 100'000, 10) == std::vector<std::string>{"job_b"});
}

TEST_CASE("removing an output deletes it durably and a missing one is no error", "[persistence]") {
  kiln::test::temp_dir dir;
  auto files = dir.path().string() + "/files";
  REQUIRE_FALSE(kiln::output_files::write(files, "job_x1-0.png", "png", true));
  auto path = kiln::output_files::path_of(files, "job_x1-0.png");
  REQUIRE(std::filesystem::exists(path));
  CHECK_FALSE(kiln::output_files::remove(files, "job_x1-0.png"));
  CHECK_FALSE(std::filesystem::exists(path));
  CHECK_FALSE(kiln::output_files::remove(files, "job_x1-0.png"));  // again: already gone
  CHECK_FALSE(kiln::output_files::remove(files, "job_zz-0.png"));  // no shard at all
  CHECK(kiln::output_files::remove(files, "../escape"));           // not a name we hand out
}
