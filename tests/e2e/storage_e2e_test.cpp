// Storage that fails or holds a record Kiln cannot read: a failed read answers 503 and changes
// nothing, and start-up refuses a record it cannot decode, naming it, until it is mended.
#include "tests/support/e2e.hpp"

#include "models/error.hpp"
#include "persistence/store.hpp"

#include <catch2/catch.hpp>

using namespace kiln::test;

namespace {

/// A device that serves no model: jobs stay queued and without an actor, so reads of them go
/// to the store.
const std::string parked_devices =
  R"([{"id":"sim-0","executor":"sim","slots":1,"latency_ms":0,"models":["none"]}])";

std::unique_ptr<kiln::store> open_store(const std::string& data_dir) {
  auto opened = kiln::store::open(data_dir, kiln::durability_mode::fsync);
  INFO((opened ? std::string() : kiln::describe(opened.error())));
  REQUIRE(opened);
  return std::move(*opened);
}

}  // namespace

TEST_CASE(
  "A store read that fails answers 503 unavailable without a server path, and the next "
  "read is answered",
  "[e2e]") {
  test_server server(parked_devices);
  auto& http = server.http();
  auto account = create_account(http);
  auto id = submit_job(http, account.key, image_job_body());

  CHECK(put_faults(http, R"({"store_read_failures":1})")["store_read_failures"].integer() == 1);
  auto failed = http.get("/v1/jobs/" + id, account.key);
  CHECK(failed.status == 503);
  auto error = json::parse(failed.body)["error"];
  CHECK(error["code"].str() == "unavailable");
  CHECK(failed.body.find(server.data_dir()) == std::string::npos);
  CHECK(failed.body.find(".log") == std::string::npos);
  auto again = http.get("/v1/jobs/" + id, account.key);  // the fault is spent
  REQUIRE(again.status == 200);
  CHECK(json::parse(again.body)["status"].str() == "queued");

  put_faults(http, R"({"store_read_failures":1})");
  CHECK(http.get("/v1/jobs?limit=10", account.key).status == 503);
  auto page = http.get("/v1/jobs?limit=10", account.key);
  REQUIRE(page.status == 200);
  CHECK(json::parse(page.body)["data"].size() == 1);

  put_faults(http, R"({"store_read_failures":1})");
  auto cancel = http.post("/v1/jobs/" + id + "/cancel", "{}", account.key);
  CHECK(cancel.status == 503);  // nothing was canceled, nothing refunded
  auto balance = json::parse(http.get("/v1/balance", account.key).body);
  CHECK(balance["held"].integer() == 1);
  CHECK(balance["available"].integer() == 999);
  CHECK(json::parse(http.get("/v1/jobs/" + id, account.key).body)["status"].str() == "queued");
  CHECK(put_faults(http, "{}")["store_read_failures"].integer() == 0);
  CHECK(server.process().stderr_text().find("\"event\":\"store.") != std::string::npos);
}

TEST_CASE(
  "Start-up refuses a job record it cannot decode, names it, shows it with kiln admin "
  "inspect, and starts once it is mended",
  "[e2e]") {
  test_server server(parked_devices);
  auto& http = server.http();
  auto account = create_account(http);
  auto id = submit_job(http, account.key, image_job_body());
  REQUIRE(server.process().terminate() == 0);

  std::string original;
  {
    auto db = open_store(server.data_dir());
    auto bytes = db->get(kiln::column::jobs, id);
    REQUIRE(bytes);
    REQUIRE(*bytes);
    original = **bytes;
    kiln::write_batch batch;
    batch.put(kiln::column::jobs, id, "{\"id\":\"" + id + "\",\"status\":");  // cut short
    REQUIRE_FALSE(db->commit(std::move(batch)));
  }
  auto refused = run_kiln({"serve", "--listen", "127.0.0.1:0", "--data-dir", server.data_dir(),
                           "--config", server.config_file(), "--log-level", "warn"});
  CHECK(refused.exit_code != 0);
  CHECK(refused.err.find("cannot decode the jobs record '" + id + "'") != std::string::npos);
  CHECK(refused.err.find("kiln admin inspect --family jobs --key " + id) != std::string::npos);
  CHECK(refused.out.find("listening") == std::string::npos);

  auto shown = run_kiln({"admin", "inspect", "--family", "jobs", "--key", id, "--data-dir",
                         server.data_dir(), "--config", server.config_file()});
  CHECK(shown.exit_code == 0);
  CHECK(shown.out.find("key: " + id) != std::string::npos);
  CHECK(shown.out.find("decodes: NO") != std::string::npos);

  {
    auto db = open_store(server.data_dir());
    kiln::write_batch batch;
    batch.put(kiln::column::jobs, id, original);
    REQUIRE_FALSE(db->commit(std::move(batch)));
  }
  auto mended = run_kiln({"admin", "inspect", "--family", "jobs", "--key", id, "--data-dir",
                          server.data_dir(), "--config", server.config_file()});
  CHECK(mended.out.find("decodes: yes") != std::string::npos);
  server.restart();
  auto job = server.http().get("/v1/jobs/" + id, account.key);
  REQUIRE(job.status == 200);
  CHECK(json::parse(job.body)["status"].str() == "queued");
}
