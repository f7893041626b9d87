// The process around the API: crash recovery, clean shutdown, configuration errors, the command
// line, and the operations endpoints.
#include "models/catalog.hpp"
#include "tests/support/e2e.hpp"

#include <catch2/catch.hpp>

#include <csignal>
#include <set>
#include <thread>

using namespace kiln::test;

TEST_CASE(
  "After SIGKILL a restart on the same data directory keeps the account, its key and "
  "every acknowledged job, and finishes them all",
  "[e2e]") {
  test_server server(R"([{"id":"sim-0","executor":"sim","slots":1,"latency_ms":1000}])");
  auto& http = server.http();
  auto account = create_account(http);

  std::vector<std::string> acknowledged;
  for (int i = 0; i < 20; ++i)
    acknowledged.push_back(
      submit_job(http, account.key, image_job_body("crash " + std::to_string(i))));
  auto before = json::parse(http.get("/v1/jobs/" + acknowledged.back(), account.key).body);
  CHECK(before["status"].str() == "queued");

  server.process().kill(SIGKILL);
  // The same device, now without latency, so the recovered queue drains at once.
  server.restart(R"([{"id":"sim-0","executor":"sim","slots":1,"latency_ms":0}])");
  auto& again = server.http();

  auto stored = again.request("GET", "/admin/v1/accounts/" + account.id, {}, admin_headers());
  REQUIRE(stored.status == 200);
  CHECK(json::parse(stored.body)["plan"].str() == "pro");
  CHECK(json::parse(stored.body)["/balance/granted"].integer() == 1000);

  for (const auto& id : acknowledged) {
    INFO(id);
    CHECK(again.get("/v1/jobs/" + id, account.key).status == 200);
  }
  REQUIRE(eventually([&] {
    auto page = json::parse(again.get("/v1/jobs?status=succeeded&limit=100", account.key).body);
    return page["data"].size() == acknowledged.size();
  }));
  auto all = json::parse(again.get("/v1/jobs?limit=100", account.key).body);
  REQUIRE(all["data"].size() == acknowledged.size());
  std::set<std::string> listed;
  for (std::size_t i = 0; i < all["data"].size(); ++i) {
    listed.insert(all["data"][i]["id"].str());
    CHECK(all["data"][i]["status"].str() == "succeeded");
  }
  CHECK(listed == std::set<std::string>(acknowledged.begin(), acknowledged.end()));

  // New work is accepted and numbered after the recovered jobs.
  auto fresh = submit_job(again, account.key, image_job_body("after the crash"));
  CHECK(json::parse(again.get("/v1/jobs?limit=1", account.key).body)["data"][0]["id"].str() ==
        fresh);
}

TEST_CASE("SIGTERM stops the server cleanly with exit status 0 and its data survives", "[e2e]") {
  test_server server;
  auto& http = server.http();
  auto account = create_account(http);
  auto id = submit_job(http, account.key, image_job_body());
  REQUIRE(wait_for_terminal(http, account.key, id)["status"].str() == "succeeded");

  CHECK(server.process().terminate() == 0);
  CHECK(server.process().stderr_text().find("\"level\":\"error\"") == std::string::npos);

  server.restart();
  auto& again = server.http();
  auto job = again.get("/v1/jobs/" + id, account.key);
  REQUIRE(job.status == 200);
  CHECK(json::parse(job.body)["status"].str() == "succeeded");
  CHECK(again.request("GET", "/admin/v1/accounts/" + account.id, {}, admin_headers()).status ==
        200);
  CHECK(server.process().terminate() == 0);
}

TEST_CASE(
  "SIGTERM answers the requests in flight, closes idle connections at once, and exits as soon "
  "as they are done",
  "[e2e]") {
  // Found when a GET with Prefer: wait=2 sent 0.5 s before SIGTERM was never answered and every
  // graceful stop took the whole 10 s grace period.
  test_server server(R"([{"id":"sim-0","executor":"sim","slots":1,"latency_ms":60000}])");
  auto& http = server.http();
  auto account = create_account(http);
  auto id = submit_job(http, account.key, image_job_body());  // runs for a minute

  raw_connection idle(http.port(), std::chrono::seconds(10));
  REQUIRE(idle.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  REQUIRE(idle.read_response().status == 200);  // kept alive, now idle

  raw_connection waiting(http.port(), std::chrono::seconds(10));
  auto sent = std::chrono::steady_clock::now();
  REQUIRE(waiting.send("GET /v1/jobs/" + id + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                       account.key + "\r\nPrefer: wait=2\r\n\r\n"));
  REQUIRE(eventually([&] {
    return http.get("/metrics").body.find("kiln_http_in_flight 2") != std::string::npos;
  }));  // the long poll and this /metrics request

  std::string idle_rest = "not read";
  std::chrono::steady_clock::duration idle_closed_after{};
  std::thread idle_reader([&] {
    auto start = std::chrono::steady_clock::now();
    idle_rest = idle.read_until_closed();
    idle_closed_after = std::chrono::steady_clock::now() - start;
  });
  http_response answer;
  std::chrono::steady_clock::duration answered_after{};
  std::thread waiting_reader([&] {
    answer = waiting.read_response();
    answered_after = std::chrono::steady_clock::now() - sent;
  });

  auto stopping = std::chrono::steady_clock::now();
  int code = server.process().terminate();
  auto stopped_after = std::chrono::steady_clock::now() - stopping;
  idle_reader.join();
  waiting_reader.join();

  CHECK(code == 0);
  CHECK(idle_rest.empty());  // closed without a byte
  CHECK(idle_closed_after < std::chrono::seconds(1));
  CHECK(answer.status == 200);
  CHECK(json::parse(answer.body)["status"].str() == "processing");
  CHECK(answer.header("connection") == "close");
  CHECK(answered_after >= std::chrono::milliseconds(1900));
  CHECK(stopped_after < std::chrono::seconds(5));  // the long poll's 2 s, not the grace's 10 s
  CHECK(server.process().stderr_text().find("\"level\":\"error\"") == std::string::npos);
}

TEST_CASE("SIGTERM with nothing in flight exits at once", "[e2e]") {
  test_server server;
  auto& http = server.http();
  REQUIRE(http.get("/healthz").status == 200);  // leaves a kept-alive connection open
  auto stopping = std::chrono::steady_clock::now();
  CHECK(server.process().terminate() == 0);
  CHECK(std::chrono::steady_clock::now() - stopping < std::chrono::seconds(2));
}

TEST_CASE("An unknown key in the config file stops kiln at once with a message naming it",
          "[e2e]") {
  temp_dir dir;
  auto config = write_file(dir / "bad.json", R"({"admin_token":"t0ken","bogus":1})");
  auto result =
    run_kiln({"serve", "--listen", "127.0.0.1:0", "--data-dir", dir / "data", "--config", config});
  CHECK(result.exit_code != 0);
  CHECK(result.err.find("unknown key 'bogus'") != std::string::npos);
  CHECK(result.out.find("listening") == std::string::npos);
  CHECK(result.elapsed < std::chrono::seconds(5));

  auto nested = write_file(dir / "nested.json",
                           R"({"devices":[{"id":"d","executor":"sim","slots":1,"colour":"red"}]})");
  auto second =
    run_kiln({"serve", "--listen", "127.0.0.1:0", "--data-dir", dir / "data", "--config", nested});
  CHECK(second.exit_code != 0);
  CHECK(second.err.find("colour") != std::string::npos);
}

TEST_CASE("kiln, kiln serve and kiln admin print their usage for --help and exit 0", "[e2e]") {
  for (const auto& args : std::vector<std::vector<std::string>>{
         {"--help"}, {"serve", "--help"}, {"admin", "--help"}}) {
    INFO(args.front());
    auto result = run_kiln(args);
    CHECK(result.exit_code == 0);
    CHECK(result.out.find("usage") != std::string::npos);
  }
  CHECK(run_kiln({"serve", "--help"}).out.find("--data-dir") != std::string::npos);
  CHECK(run_kiln({"admin", "--help"}).out.find("create-account") != std::string::npos);
  auto unknown = run_kiln({"frobnicate"});
  CHECK(unknown.exit_code != 0);
  CHECK(unknown.err.find("frobnicate") != std::string::npos);
}

TEST_CASE(
  "kiln admin create-account on a stopped data directory prints a key the server then "
  "accepts",
  "[e2e]") {
  test_server server;
  CHECK(server.process().terminate() == 0);

  auto made = run_kiln({"admin", "create-account", "--name", "cli", "--plan", "pro", "--credits",
                        "100", "--data-dir", server.data_dir()});
  REQUIRE(made.exit_code == 0);
  auto account_id = line_value(made.out, "account");
  auto key = line_value(made.out, "api_key");
  CHECK(account_id.rfind("acct_", 0) == 0);
  CHECK(key.rfind("kiln_sk_", 0) == 0);
  CHECK(line_value(made.out, "webhook_secret").rfind("whsec_", 0) == 0);

  server.restart();
  auto& http = server.http();
  CHECK(http.get("/v1/jobs", key).status == 200);
  auto id = submit_job(http, key, image_job_body("made from the command line"));
  CHECK(wait_for_terminal(http, key, id)["status"].str() == "succeeded");
  auto account =
    json::parse(http.request("GET", "/admin/v1/accounts/" + account_id, {}, admin_headers()).body);
  CHECK(account["name"].str() == "cli");
  CHECK(account["/balance/granted"].integer() == 100);

  // While a server holds the directory the command refuses to touch it.
  auto busy =
    run_kiln({"admin", "create-account", "--name", "late", "--data-dir", server.data_dir()});
  CHECK(busy.exit_code != 0);
  CHECK_FALSE(busy.err.empty());
  CHECK(line_value(busy.out, "api_key").empty());
}

TEST_CASE("Health, readiness, metrics and the model catalog answer without a key", "[e2e]") {
  test_server server;
  auto& http = server.http();

  auto health = http.get("/healthz");
  CHECK(health.status == 200);
  CHECK(json::parse(health.body)["status"].str() == "ok");
  auto ready = http.get("/readyz");
  CHECK(ready.status == 200);
  CHECK(json::parse(ready.body)["status"].str() == "ready");
  auto metrics = http.get("/metrics");
  CHECK(metrics.status == 200);
  CHECK(metrics.header("content-type").rfind("text/plain", 0) == 0);
  CHECK(metrics.body.find("# TYPE") != std::string::npos);
  // Memory gauges: even empty memtables hold their first arena blocks; a started server is
  // resident in at least a few megabytes.
  auto gauge = [&](const std::string& name) {
    auto at = metrics.body.find("\n" + name + " ");
    REQUIRE(at != std::string::npos);
    return std::stoll(metrics.body.substr(at + name.size() + 2));
  };
  CHECK(gauge("kiln_rocksdb_memtable_bytes") > 0);
  CHECK(gauge("process_resident_memory_bytes") > 1 << 20);
  CHECK(gauge("process_resident_memory_bytes") < 1LL << 34);
  CHECK(gauge("kiln_rocksdb_block_cache_bytes") >= 0);

  auto models = http.get("/v1/models");
  REQUIRE(models.status == 200);
  auto data = json::parse(models.body)["data"];
  REQUIRE(data.size() == kiln::catalog::builtin().models().size());
  struct expected {
    const char* id;
    const char* type;
    std::int64_t credits;
    const char* min_plan;
  };
  const expected catalog[] = {
    {"flux2-turbo", "image", 1, "free"},     {"seedream", "image", 3, "free"},
    {"nano-banana", "image", 2, "free"},     {"gpt-image-2", "image", 4, "free"},
    {"nano-banana-pro", "image", 6, "free"}, {"seedance", "video", 30, "pro"}};
  for (const auto& want : catalog) {
    INFO(want.id);
    bool found = false;
    for (std::size_t i = 0; i < data.size(); ++i) {
      if (data[i]["id"].str() != want.id) continue;
      found = true;
      CHECK(data[i]["type"].str() == want.type);
      CHECK(data[i]["credits"].integer() == want.credits);
      CHECK(data[i]["min_plan"].str() == want.min_plan);
      CHECK_FALSE(data[i]["description"].str().empty());
      CHECK(data[i]["estimated_seconds"].integer() > 0);
    }
    CHECK(found);
  }

  auto devices = http.request("GET", "/admin/v1/devices", {}, admin_headers());
  CHECK(devices.status == 200);
  CHECK(json::parse(devices.body)["data"][0]["id"].str() == "sim-0");
  CHECK(http.get("/admin/v1/devices").status == 401);
  CHECK(http.request("GET", "/admin/v1/devices", {}, {bearer("wrong")}).status == 401);
}
