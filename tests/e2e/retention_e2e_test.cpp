// Output retention on the real binary (issue 17): with `outputs.retention_days` 1, a job's file
// is kept while its day runs (across a restart with the clock moved 23 h 50 min forward) and is
// deleted from disk once it is over (a restart 24 h 10 min forward); the job then says
// outputs_expired_at and lists its output without a URL, a URL signed before the expiry answers
// 404, and a newer job, inside its window, keeps its file.
#include "tests/support/e2e.hpp"

#include "persistence/output_files.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace kiln::test;

namespace {

constexpr std::int64_t minute_ms = 60'000;
constexpr std::int64_t hour_ms = 60 * minute_ms;

void restart_at(test_server& server, std::int64_t offset_ms) {
  server.process().kill();
  set_clock_offset(server, offset_ms);
  server.restart();
}

json job_of(http_client& http, const std::string& key, const std::string& id) {
  auto answer = http.get("/v1/jobs/" + id, key);
  INFO(answer.body);
  REQUIRE(answer.status == 200);
  return json::parse(answer.body);
}

/// The output's signed path ("/v1/files/NAME?expires=...&signature=...") and its file on disk.
struct output_file {
  std::string path;
  std::string disk_path;
};

output_file first_output(const test_server& server, const json& job) {
  auto url = job["output"][0]["url"].str();
  auto at = url.find("/v1/files/");
  REQUIRE(at != std::string::npos);
  output_file file;
  file.path = url.substr(at);
  auto name = file.path.substr(10, file.path.find('?') - 10);
  file.disk_path = kiln::output_files::path_of(server.data_dir() + "/files", name);
  return file;
}

}  // namespace

TEST_CASE("retention deletes a job's files once its window is over, and only then",
          "[e2e][retention]") {
  test_server server(sim_devices,
                     R"("outputs":{"retention_days":1},"faults":{"clock_offset_ms":0})");
  auto account = create_account(server.http());
  auto old_id = submit_job(server.http(), account.key, image_job_body("an old harbour"));
  auto old_job = wait_for_terminal(server.http(), account.key, old_id);
  REQUIRE(old_job["status"].str() == "succeeded");
  auto old_file = first_output(server, old_job);
  REQUIRE(std::filesystem::exists(old_file.disk_path));

  // 23 h 50 min later the job is still inside its day: the sweep at start-up keeps it.
  restart_at(server, 23 * hour_ms + 50 * minute_ms);
  auto new_id = submit_job(server.http(), account.key, image_job_body("a new harbour"));
  auto new_job = wait_for_terminal(server.http(), account.key, new_id);
  REQUIRE(new_job["status"].str() == "succeeded");
  old_job = job_of(server.http(), account.key, old_id);
  CHECK_FALSE(old_job.has("outputs_expired_at"));
  CHECK(std::filesystem::exists(old_file.disk_path));
  auto fresh_old = first_output(server, old_job);  // signed now: valid for another hour
  CHECK(server.http().get(fresh_old.path).status == 200);

  // 24 h 10 min: its day is over. The new job, 20 minutes old, keeps its file.
  restart_at(server, 24 * hour_ms + 10 * minute_ms);
  REQUIRE(eventually(
    [&] { return job_of(server.http(), account.key, old_id).has("outputs_expired_at"); }));
  old_job = job_of(server.http(), account.key, old_id);
  CHECK(old_job["status"].str() == "succeeded");
  CHECK(old_job["output"].size() == 1);
  CHECK(old_job["output"][0]["url"].is_null());
  CHECK(old_job["output"][0]["expired"].boolean());
  CHECK(old_job["output"][0]["content_type"].str() == "image/png");
  CHECK_FALSE(std::filesystem::exists(old_file.disk_path));
  auto gone = server.http().get(fresh_old.path);
  CHECK(gone.status == 404);
  CHECK(json::parse(gone.body)["/error/code"].str() == "not_found");

  new_job = job_of(server.http(), account.key, new_id);
  CHECK_FALSE(new_job.has("outputs_expired_at"));
  auto new_file = first_output(server, new_job);
  CHECK(std::filesystem::exists(new_file.disk_path));
  CHECK(server.http().get(new_file.path).status == 200);
  // The timeline says when the files went.
  auto events = server.http().get("/v1/jobs/" + old_id + "/events", account.key);
  CHECK(events.body.find("job.outputs_expired") != std::string::npos);
}
