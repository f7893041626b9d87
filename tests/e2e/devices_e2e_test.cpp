// Devices on the real binary: the http executor against a real inference server, and
// "devices": "auto" with no NVIDIA driver and with the fake NVML library.
#include "tests/support/e2e.hpp"
#include "tests/support/inference_server.hpp"
#include "tests/support/ledger_e2e.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <set>
#include <string>

using namespace kiln::test;
using namespace std::chrono_literals;

TEST_CASE("The http executor runs jobs on an inference server with progress outputs and cancel",
          "[e2e][devices]") {
  inference_options options;
  options.run_time = 600ms;
  inference_server model_server(options);
  test_server server(R"([{"id":"remote","executor":"http","slots":2,"url":")" +
                     model_server.base_url() + R"("}])");
  auto& http = server.http();
  auto account = create_account(http, "enterprise", 100);

  auto id = submit_job(http, account.key,
                       R"({"type":"image","model":"flux2-turbo","prompt":"remote","n":2,)"
                       R"("params":{"width":96,"height":64,"seed":42}})");
  std::set<std::int64_t> progress;
  eventually([&] {
    auto job = json::parse(http.get("/v1/jobs/" + id, account.key).body);
    if (job["status"].str() == "processing") progress.insert(job["progress"].integer());
    return job["status"].str() == "succeeded";
  });
  auto job = wait_for_terminal(http, account.key, id);
  REQUIRE(job["status"].str() == "succeeded");
  CHECK(job["device"].str() == "remote");
  CHECK(progress.size() >= 2);  // 0 and at least one step reported by the server
  REQUIRE(job["output"].size() == 2);
  auto url = job["output"][0]["url"].str();
  auto file = http.get(url.substr(url.find("/v1/files/")));
  REQUIRE(file.status == 200);
  CHECK(file.body.substr(1, 3) == "PNG");
  auto runs = model_server.runs();
  REQUIRE(runs.size() == 1);
  CHECK(runs[0].job_id == id);
  CHECK(runs[0].width == 96);
  CHECK(runs[0].seed == 42);
  CHECK(runs[0].traceparent.find(job["trace_id"].str()) != std::string::npos);

  auto doomed =
    submit_job(http, account.key, R"({"type":"image","model":"flux2-turbo","prompt":"stop"})");
  REQUIRE(eventually([&] {
    return json::parse(http.get("/v1/jobs/" + doomed, account.key).body)["status"].str() ==
           "processing";
  }));
  REQUIRE(cancel(http, account.key, doomed).status == 200);
  CHECK(model_server.wait_for_cancels(1, 5s));
  REQUIRE(eventually([&] { return admin_devices(http)["data"][0]["busy"].integer() == 0; }));
}

TEST_CASE("An inference server that fails runs fails the attempts and the job is refunded",
          "[e2e][devices]") {
  inference_options options;
  options.run_time = 50ms;
  options.fail_with = "out of GPU memory";
  inference_server model_server(options);
  test_server server(
    R"([{"id":"remote","executor":"http","slots":1,"url":")" + model_server.base_url() + R"("}])",
    R"("scheduler":{"breaker_failures":1000})");
  auto& http = server.http();
  auto account = create_account(http, "enterprise", 10);
  auto id =
    submit_job(http, account.key, R"({"type":"image","model":"flux2-turbo","prompt":"oom"})");
  auto job = wait_for_terminal(http, account.key, id);
  CHECK(job["status"].str() == "failed");
  CHECK(job["attempts"].integer() == 3);
  CHECK(job["/error/message"].str().find("out of GPU memory") != std::string::npos);
  CHECK(balance_of(http, account.key) == credits{10, 0, 0, 10});
}

TEST_CASE("Devices auto without an NVIDIA driver says so and starts with the built-in devices",
          "[e2e][devices]") {
  temp_dir dir;
  auto config = write_config(dir, R"("auto")");
  kiln_process kiln(dir / "data", config,
                    {{"KILN_NVML_LIBRARY", dir / "no-such-libnvidia-ml.so.1"}});
  CHECK(kiln.stderr_text().find("NVML not available") != std::string::npos);
  CHECK(kiln.stderr_text().find("starting with the built-in devices") != std::string::npos);
  http_client http(kiln.port());
  auto devices = admin_devices(http)["data"];
  REQUIRE(devices.size() == 2);
  CHECK(devices[0]["id"].str() == "gpu-0");
  CHECK(devices[0]["executor"].str() == "builtin");

  auto listed =
    run_kiln({"devices"}, 10s, {{"KILN_NVML_LIBRARY", "/nonexistent/libnvidia-ml.so.1"}});
  CHECK(listed.exit_code == 1);
  CHECK(listed.err.find("is the NVIDIA driver installed?") != std::string::npos);
}

TEST_CASE("Devices auto makes one device per GPU that NVML reports, with its telemetry",
          "[e2e][devices]") {
  temp_dir dir;
  auto config = write_config(dir, R"("auto")");
  kiln_process kiln(dir / "data", config, {{"KILN_NVML_LIBRARY", KILN_FAKE_NVML}});
  CHECK(kiln.startup_output().find("found 2 GPU(s)") != std::string::npos);
  http_client http(kiln.port());
  json devices = json::parse("[]");
  REQUIRE(eventually([&] {
    devices = admin_devices(http)["data"];
    return devices.size() == 2 && devices[0].has("gpu");
  }));
  CHECK(devices[0]["id"].str() == "gpu-0");
  CHECK(devices[1]["id"].str() == "gpu-1");
  CHECK(devices[0]["gpu"]["uuid"].str().rfind("GPU-", 0) == 0);
  CHECK(devices[0]["gpu"]["memory_total_bytes"].integer() > 0);
  auto account = create_account(http, "enterprise", 10);
  auto id = submit_job(http, account.key, image_job_body());
  CHECK(wait_for_terminal(http, account.key, id)["status"].str() == "succeeded");

  auto listed = run_kiln({"devices"}, 10s, {{"KILN_NVML_LIBRARY", KILN_FAKE_NVML}});
  CHECK(listed.exit_code == 0);
  CHECK(listed.out.find("GPU 0:") != std::string::npos);
  CHECK(listed.out.find("GPU 1:") != std::string::npos);
}

TEST_CASE("A run that reports using less than was held pays that and gets the rest back",
          "[e2e][devices][ledger]") {
  inference_options options;
  options.run_time = 50ms;
  options.credits_used = 5;
  inference_server model_server(options);
  test_server server(R"([{"id":"remote","executor":"http","slots":1,"url":")" +
                     model_server.base_url() + R"("}])");
  auto& http = server.http();
  auto account = create_account(http, "pro", 100);
  // seedream: 3 credits x 4 outputs = 12 held; the server says the run cost 5.
  auto id = submit_job(http, account.key,
                       R"({"type":"image","model":"seedream","prompt":"p","n":4,)"
                       R"("options":{"output_format":"webp"}})");
  auto job = wait_for_terminal(http, account.key, id);
  REQUIRE(job["status"].str() == "succeeded");
  CHECK(job["credits_held"].integer() == 12);
  CHECK(job["credits_used"].integer() == 5);
  CHECK(job["credits_refunded"].integer() == 7);
  auto balance = json::parse(http.get("/v1/balance", account.key).body);
  CHECK(balance["available"].integer() == 95);
  CHECK(balance["held"].integer() == 0);
  CHECK(balance["used"].integer() == 5);
  CHECK(balance["granted"].integer() == 100);
  // The ledger shows the hold, then its capture and the release of the rest.
  auto ledger = json::parse(http.get("/v1/ledger?limit=10", account.key).body)["data"];
  std::vector<std::pair<std::string, std::int64_t>> moves;
  for (std::size_t i = 0; i < ledger.size(); ++i)
    if (ledger[i]["job_id"].is_null() == false && ledger[i].has("job_id") &&
        ledger[i]["job_id"].str() == id)
      moves.emplace_back(ledger[i]["kind"].str(), ledger[i]["amount"].integer());
  CHECK(moves == std::vector<std::pair<std::string, std::int64_t>>{
                   {"release", 7}, {"capture", 5}, {"hold", 12}});  // newest first
  auto events = json::parse(http.get("/v1/jobs/" + id + "/events", account.key).body)["data"];
  std::set<std::string> kinds;
  for (std::size_t i = 0; i < events.size(); ++i) kinds.insert(events[i]["type"].str());
  CHECK(kinds.count("hold.captured") == 1);
  CHECK(kinds.count("hold.released") == 1);
  // The executor was handed the job's options.
  REQUIRE(model_server.runs().size() == 1);
  CHECK(model_server.runs()[0].options == R"({"output_format":"webp"})");
}
