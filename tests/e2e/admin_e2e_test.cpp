// Snapshots and the offline admin commands on the real binary: an on-line snapshot restored into
// a new data directory, and `kiln admin grant|snapshot|restore` on a stopped one.
#include "tests/support/e2e.hpp"
#include "tests/support/ledger_e2e.hpp"

#include <catch2/catch.hpp>

#include <filesystem>

using namespace kiln::test;

TEST_CASE("An on-line snapshot restored into a new data directory has every account key and job",
          "[e2e][admin]") {
  test_server server;
  auto& http = server.http();
  auto account = create_account(http, "pro", 100);
  auto id = submit_job(http, account.key, image_job_body("before the snapshot"));
  REQUIRE(wait_for_terminal(http, account.key, id)["status"].str() == "succeeded");

  auto taken = http.request("POST", "/admin/v1/snapshots", {}, admin_headers());
  REQUIRE(taken.status == 201);
  auto snapshot = json::parse(taken.body);
  CHECK(snapshot["id"].str().rfind("snap_", 0) == 0);
  auto path = snapshot["path"].str();
  CHECK(std::filesystem::exists(std::filesystem::path(path) / "CURRENT"));
  CHECK(http.request("POST", "/admin/v1/snapshots", {}, {}).status == 401);
  // Work after the snapshot is not in it.
  auto later = submit_job(http, account.key, image_job_body("after the snapshot"));

  temp_dir elsewhere;
  auto restored = run_kiln({"admin", "restore", "--from", path, "--data-dir", elsewhere / "data"});
  INFO(restored.err);
  REQUIRE(restored.exit_code == 0);
  kiln_process copy(elsewhere / "data", write_config(elsewhere));
  http_client other(copy.port());
  auto job = json::parse(other.get("/v1/jobs/" + id, account.key).body);
  CHECK(job["status"].str() == "succeeded");
  CHECK(other.get("/v1/jobs/" + later, account.key).status == 404);
  CHECK(balance_of(other, account.key) == credits{99, 0, 1, 100});
}

TEST_CASE("kiln admin grant snapshot and restore work on a stopped data directory",
          "[e2e][admin]") {
  test_server server;
  auto account = create_account(server.http(), "pro", 10);
  CHECK(server.process().terminate() == 0);

  auto granted = run_kiln({"admin", "grant", "--account", account.id, "--amount", "25", "--reason",
                           "support credit", "--data-dir", server.data_dir()});
  INFO(granted.err);
  REQUIRE(granted.exit_code == 0);
  CHECK(line_value(granted.out, "available") == "35");
  CHECK(run_kiln({"admin", "grant", "--account", "acct_nope", "--amount", "5", "--data-dir",
                  server.data_dir()})
          .exit_code == 1);
  CHECK(run_kiln({"admin", "grant", "--account", account.id, "--amount", "0", "--data-dir",
                  server.data_dir()})
          .exit_code == 2);

  temp_dir copies;
  std::string snap = copies / "snap";
  REQUIRE(
    run_kiln({"admin", "snapshot", "--to", snap, "--data-dir", server.data_dir()}).exit_code == 0);
  REQUIRE(run_kiln({"admin", "grant", "--account", account.id, "--amount", "1000", "--data-dir",
                    server.data_dir()})
            .exit_code == 0);
  // Restoring the snapshot undoes the later grant and keeps the database it replaced.
  auto restored = run_kiln({"admin", "restore", "--from", snap, "--data-dir", server.data_dir()});
  REQUIRE(restored.exit_code == 0);
  CHECK_FALSE(line_value(restored.out, "previous database kept in").empty());
  CHECK(
    run_kiln({"admin", "restore", "--from", copies / "nothing", "--data-dir", server.data_dir()})
      .exit_code == 2);

  server.restart();
  auto& http = server.http();
  CHECK(balance_of(http, account.key) == credits{35, 0, 0, 35});
  auto ledger = all_pages(http, account.key, "/v1/ledger");
  REQUIRE(ledger.size() == 2);
  CHECK(ledger[0]["reason"].str() == "support credit");
  CHECK(replay_ledger(ledger) == credits{35, 0, 0, 35});
  // While the server holds the directory the commands refuse to touch it.
  CHECK(run_kiln({"admin", "grant", "--account", account.id, "--amount", "5", "--data-dir",
                  server.data_dir()})
          .exit_code == 1);
  CHECK(run_kiln({"admin", "--help"}).out.find("restore") != std::string::npos);
}
