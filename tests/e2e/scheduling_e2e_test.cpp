// The scheduler and devices on the real binary: fair share across accounts, device crashes and
// failures retried on other devices, the circuit breaker, model timeouts, Prefer: wait and
// progress.
#include "tests/support/e2e.hpp"
#include "tests/support/ledger_e2e.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

using namespace kiln::test;
using namespace std::chrono_literals;

namespace {

std::string sim(const std::string& id, int slots, int latency_ms) {
  return R"({"id":")" + id + R"(","executor":"sim","slots":)" + std::to_string(slots) +
         R"(,"latency_ms":)" + std::to_string(latency_ms) + "}";
}

std::string flux(const std::string& prompt) {
  return R"({"type":"image","model":"flux2-turbo","prompt":")" + prompt + R"("})";
}

/// Milliseconds since the epoch of an RFC 3339 time with milliseconds ("...T12:00:00.123Z").
std::int64_t ms_of(const std::string& text) {
  std::tm parts{};
  strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &parts);
  return static_cast<std::int64_t>(timegm(&parts)) * 1000 + std::stoi(text.substr(20, 3));
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

std::size_t captures_of(const std::vector<json>& ledger, const std::string& job_id) {
  std::size_t count = 0;
  for (const auto& entry : ledger)
    count += entry["kind"].str() == "capture" && entry["job_id"].str() == job_id;
  return count;
}

}  // namespace

TEST_CASE("One job of account B starts within one job per device of account A's backlog of 200",
          "[e2e][scheduler]") {
  test_server server("[" + sim("sim-0", 1, 150) + "," + sim("sim-1", 1, 150) + "]");
  auto& http = server.http();
  auto a = create_account(http, "enterprise", 1000);
  auto b = create_account(http, "enterprise", 1000);
  for (int i = 0; i < 200; ++i) submit_job(http, a.key, flux("backlog " + std::to_string(i)));
  auto queued = json::parse(http.get("/v1/jobs?status=queued&limit=1", a.key).body);
  REQUIRE(queued["data"].size() == 1);

  auto id = submit_job(http, b.key, flux("just one"));
  auto job = json::parse(http.get("/v1/jobs/" + id, b.key).body);
  if (job["status"].str() == "queued") CHECK(job["queue_position"].integer() <= 2);
  job = wait_for_terminal(http, b.key, id);
  REQUIRE(job["status"].str() == "succeeded");
  auto waited = ms_of(job["started_at"].str()) - ms_of(job["created_at"].str());
  INFO("B's job waited " << waited << " ms; one job per device takes 150 ms");
  CHECK(waited < 400);
  // A's backlog is still there: B did not wait for it.
  CHECK(all_pages(http, a.key, "/v1/jobs?status=queued").size() > 150);
}

TEST_CASE("Devices crashing on about every third job lose nothing: every job succeeds once",
          "[e2e][scheduler]") {
  test_server server(
    "[" + sim("sim-0", 2, 20) + "," + sim("sim-1", 2, 20) + "," + sim("sim-2", 2, 20) + "]",
    R"("jobs":{"max_attempts":10},"faults":{"seed":7,"device_crash_rate":0.34},)"
    R"("scheduler":{"breaker_failures":1000})");
  auto& http = server.http();
  auto account = create_account(http, "enterprise", 1000);
  std::vector<std::string> ids;
  for (int i = 0; i < 30; ++i)
    ids.push_back(submit_job(http, account.key, flux("crash " + std::to_string(i))));
  std::map<std::string, int> attempts;
  for (const auto& id : ids) {
    auto job = wait_for_terminal(http, account.key, id, 60s);
    CHECK(job["status"].str() == "succeeded");
    attempts[id] = static_cast<int>(job["attempts"].integer());
  }
  auto ledger = all_pages(http, account.key, "/v1/ledger");
  for (const auto& id : ids) CHECK(captures_of(ledger, id) == 1);
  CHECK(balance_of(http, account.key) == credits{970, 0, 30, 1000});
  auto devices = admin_devices(http);
  std::int64_t crashes = 0;
  for (std::size_t i = 0; i < devices["data"].size(); ++i) {
    crashes += devices["data"][i]["crashes"].integer();
    CHECK(devices["data"][i]["busy"].integer() == 0);
  }
  int retried = 0;
  for (const auto& [id, n] : attempts) retried += n > 1;
  INFO("crashes " << crashes << ", jobs retried " << retried);
  CHECK(crashes >= 5);
  CHECK(retried >= 5);
}

TEST_CASE("With every device down jobs stay queued and succeed once a device is back",
          "[e2e][scheduler]") {
  test_server server("[" + sim("sim-0", 1, 0) + "," + sim("sim-1", 1, 0) + "]",
                     R"("jobs":{"max_attempts":50},)"
                     R"("scheduler":{"breaker_failures":2,"breaker_cooldown_ms":300})");
  auto& http = server.http();
  auto account = create_account(http, "enterprise", 1000);
  CHECK(put_faults(http, R"({"device_fail_rate":1})")["device_fail_rate"].number() == 1.0);
  std::vector<std::string> ids;
  for (int i = 0; i < 6; ++i)
    ids.push_back(submit_job(http, account.key, flux("down " + std::to_string(i))));
  REQUIRE(eventually([&] {
    auto devices = admin_devices(http)["data"];
    return devices[0]["status"].str() != "up" && devices[1]["status"].str() != "up";
  }));
  auto devices = admin_devices(http)["data"];
  CHECK(devices[0]["consecutive_failures"].integer() >= 2);
  auto failed_runs = [&] {
    auto now = admin_devices(http)["data"];
    return now[0]["failed"].integer() + now[1]["failed"].integer();
  };
  // Probes keep failing: wait until each device was probed and failed again, then nothing ran
  // to success and no job failed.
  auto before = failed_runs();
  REQUIRE(eventually([&] { return failed_runs() >= before + 2; }));
  for (const auto& id : ids) {
    auto job = json::parse(http.get("/v1/jobs/" + id, account.key).body);
    CHECK(job["status"].str() != "failed");
  }

  put_faults(http, R"({"device_fail_rate":0})");
  for (const auto& id : ids)
    CHECK(wait_for_terminal(http, account.key, id, 30s)["status"].str() == "succeeded");
  REQUIRE(eventually([&] {
    auto now = admin_devices(http)["data"];
    return now[0]["status"].str() == "up" && now[1]["status"].str() == "up";
  }));
  auto bad = http.request("PUT", "/admin/v1/faults", R"({"device_fail_rate":2})", [] {
    auto h = admin_headers();
    h.emplace_back("Content-Type", "application/json");
    return h;
  }());
  CHECK(bad.status == 400);
}

TEST_CASE("A run past its model's timeout is retried on another device and succeeds",
          "[e2e][scheduler]") {
  temp_dir catalog_dir;
  auto catalog = write_file(catalog_dir / "catalog.json",
                            R"({"models":[{"id":"flux2-turbo","type":"image","credits":1,)"
                            R"("unit":"asset","min_plan":"free","estimated_seconds":1,)"
                            R"("timeout_seconds":1,"description":"quick"}]})");
  test_server server("[" + sim("stuck", 1, 30000) + "," + sim("quick", 1, 0) + "]",
                     R"("catalog_file":")" + catalog + R"(")");
  auto& http = server.http();
  auto account = create_account(http, "enterprise", 100);
  // Both devices free: the first goes to "stuck" (listed first), the second to "quick".
  auto first = submit_job(http, account.key, flux("times out"));
  auto job = wait_for_terminal(http, account.key, first, 20s);
  CHECK(job["status"].str() == "succeeded");
  CHECK(job["attempts"].integer() == 2);
  CHECK(job["device"].str() == "quick");
  auto devices = admin_devices(http)["data"];
  CHECK(devices[0]["id"].str() == "stuck");
  CHECK(devices[0]["failed"].integer() == 1);
  CHECK(devices[0]["busy"].integer() == 0);  // the timed-out run was stopped and its slot freed
}

TEST_CASE("Prefer wait returns within 50 ms of the job finishing and progress shows meanwhile",
          "[e2e][scheduler]") {
  test_server server("[" + sim("sim-0", 1, 800) + "]");
  auto& http = server.http();
  auto account = create_account(http, "enterprise", 100);
  auto id = submit_job(http, account.key, flux("long poll"));

  std::set<std::int64_t> seen;
  eventually(
    [&] {
      auto job = json::parse(http.get("/v1/jobs/" + id, account.key).body);
      if (job["status"].str() == "processing") seen.insert(job["progress"].integer());
      return seen.count(50) > 0 || job["status"].str() == "succeeded";
    },
    5s);
  CHECK(seen.count(50) == 1);

  auto response = http.request("GET", "/v1/jobs/" + id, {},
                               {{"Authorization", "Bearer " + account.key}, {"Prefer", "wait=10"}});
  auto answered = now_ms();
  REQUIRE(response.status == 200);
  auto job = json::parse(response.body);
  REQUIRE(job["status"].str() == "succeeded");
  CHECK(response.header("preference-applied") == "wait");
  auto lag = answered - ms_of(job["completed_at"].str());
  INFO("answered " << lag << " ms after completed_at");
  CHECK(lag < 50);
  CHECK(lag > -50);

  // POST with Prefer: wait answers 201 with the finished job.
  auto created = http.request("POST", "/v1/jobs", flux("wait on create"),
                              {{"Authorization", "Bearer " + account.key},
                               {"Content-Type", "application/json"},
                               {"Prefer", "wait=10"}});
  REQUIRE(created.status == 201);
  CHECK(json::parse(created.body)["status"].str() == "succeeded");
  // A short wait gives the job as it is when the wait runs out.
  auto short_wait = http.request("POST", "/v1/jobs", flux("short wait"),
                                 {{"Authorization", "Bearer " + account.key},
                                  {"Content-Type", "application/json"},
                                  {"Prefer", "wait=0"}});
  CHECK(json::parse(short_wait.body)["status"].str() == "queued");
}

TEST_CASE("Plan concurrency is never exceeded as the job events show", "[e2e][scheduler]") {
  test_server server("[" + sim("sim-0", 2, 150) + "," + sim("sim-1", 2, 150) + "]");
  auto& http = server.http();
  auto starter = create_account(http, "starter", 100);  // max_concurrent_jobs 2
  auto other = create_account(http, "enterprise", 100);
  std::vector<std::string> ids;
  for (int i = 0; i < 8; ++i) {
    ids.push_back(submit_job(http, starter.key, flux("limited " + std::to_string(i))));
    submit_job(http, other.key, flux("neighbour " + std::to_string(i)));
  }
  // (time, +1 start / -1 end) from each job's events; an end sorts before a start at one instant.
  std::vector<std::pair<std::int64_t, int>> edges;
  for (const auto& id : ids) {
    REQUIRE(wait_for_terminal(http, starter.key, id)["status"].str() == "succeeded");
    auto events = json::parse(http.get("/v1/jobs/" + id + "/events", starter.key).body)["data"];
    for (std::size_t i = 0; i < events.size(); ++i) {
      auto type = events[i]["type"].str();
      if (type == "job.started") edges.emplace_back(ms_of(events[i]["at"].str()), +1);
      if (type == "job.succeeded") edges.emplace_back(ms_of(events[i]["at"].str()), -1);
    }
  }
  REQUIRE(edges.size() == 16);
  std::sort(edges.begin(), edges.end());
  int running = 0, most = 0;
  for (const auto& [at, change] : edges) most = std::max(most, running += change);
  CHECK(most == 2);  // reached, never exceeded, though devices had 4 slots
}

namespace {

/// The kiln_job_actors gauge: job actors alive in the server now.
std::int64_t job_actors(http_client& http) {
  auto text = http.get("/metrics").body;
  auto at = text.find("\nkiln_job_actors ");
  REQUIRE(at != std::string::npos);
  return std::stoll(text.substr(at + 17));
}

}  // namespace

TEST_CASE("A queued job gets its actor only when it is waited on or canceled or dispatched",
          "[e2e][scheduler]") {
  // A device that serves no model: everything submitted stays queued.
  test_server server(R"([{"id":"parked","executor":"sim","slots":1,"models":["none"]}])");
  auto& http = server.http();
  auto account = create_account(http, "enterprise", 100);
  std::vector<std::string> ids;
  for (int i = 0; i < 10; ++i)
    ids.push_back(submit_job(http, account.key, flux("lazy " + std::to_string(i))));
  CHECK(job_actors(http) == 0);
  auto fifth = json::parse(http.get("/v1/jobs/" + ids[4], account.key).body);
  CHECK(fifth["status"].str() == "queued");
  CHECK(fifth["queue_position"].integer() == 5);
  CHECK(job_actors(http) == 0);

  // Prefer: wait is held by the job's actor, spawned for it; the actor stays until the job ends.
  auto asked = now_ms();
  auto waited = http.request("GET", "/v1/jobs/" + ids[2], {},
                             {{"Authorization", "Bearer " + account.key}, {"Prefer", "wait=1"}});
  CHECK(now_ms() - asked >= 900);
  CHECK(json::parse(waited.body)["status"].str() == "queued");
  CHECK(json::parse(waited.body)["queue_position"].integer() == 3);
  CHECK(job_actors(http) == 1);

  // A job canceled before it had an actor is refunded and leaves the queue like any other.
  CHECK(balance_of(http, account.key) == credits{90, 10, 0, 100});
  auto canceled = cancel(http, account.key, ids[6]);
  REQUIRE(canceled.status == 200);
  CHECK(json::parse(canceled.body)["credits_refunded"].integer() == 1);
  CHECK(balance_of(http, account.key) == credits{91, 9, 0, 100});
  CHECK(json::parse(http.get("/v1/jobs/" + ids[7], account.key).body)["queue_position"].integer() ==
        7);
  CHECK(cancel(http, account.key, ids[6]).status == 409);
  REQUIRE(eventually([&] { return job_actors(http) == 1; }));  // its actor ended with it

  // Restarted with a device that serves the model: every queued job, with an actor before the
  // stop or not, is dispatched through its account and runs once.
  REQUIRE(server.process().terminate() == 0);
  server.restart("[" + sim("sim-0", 2, 0) + "]");
  auto& after = server.http();
  for (std::size_t i = 0; i < ids.size(); ++i) {
    auto job = wait_for_terminal(after, account.key, ids[i]);
    CHECK(job["status"].str() == (i == 6 ? "canceled" : "succeeded"));
    if (i != 6) CHECK(job["attempts"].integer() == 1);
  }
  CHECK(balance_of(after, account.key) == credits{91, 0, 9, 100});
  REQUIRE(eventually([&] { return job_actors(after) == 0; }));
}
