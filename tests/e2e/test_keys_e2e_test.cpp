// Test keys against the real binary (docs/decisions.md, "Test keys"): with a builtin and a sim
// device, a test key's jobs run on the simulator only, never move the balance or the ledger, show
// `livemode: false`, send webhooks only to webhooks.test_targets, are counted apart in usage, are
// canceled without a refund, and keep all of that across a SIGKILL; the live key beside it pays.
#include "tests/support/e2e.hpp"

#include "tests/support/ledger_e2e.hpp"
#include "tests/support/webhook_listener.hpp"

#include <catch2/catch.hpp>

using namespace kiln::test;
using namespace std::chrono_literals;

namespace {

/// A builtin device serving every model and a simulator serving flux2-turbo only: a test job on
/// seedream has no device it may run on.
const std::string both_devices =
  R"([{"id":"gpu-0","executor":"builtin","slots":2},)"
  R"({"id":"sim-0","executor":"sim","slots":4,"latency_ms":0,"models":["flux2-turbo"]}])";

std::string webhooks_allowing(const std::string& test_target) {
  return R"("webhooks":{"allow_private_targets":true,"timeout_ms":2000,)"
         R"("retry_schedule_ms":[100,100],"test_targets":[")" +
         test_target + R"("]})";
}

/// POST /v1/keys with `body`; the created key (201 required).
json make_key(http_client& http, const std::string& key, const std::string& body) {
  auto created = http.post("/v1/keys", body, key);
  REQUIRE(created.status == 201);
  return json::parse(created.body);
}

std::string seedream_body() {
  return R"({"type":"image","model":"seedream","prompt":"waits for a simulator"})";
}

std::string hooked_body(const std::string& url) {
  return R"({"type":"image","model":"flux2-turbo","prompt":"hooked","webhook_url":")" + url +
         R"("})";
}

json job_of(http_client& http, const std::string& key, const std::string& id) {
  auto found = http.get("/v1/jobs/" + id, key);
  REQUIRE(found.status == 200);
  return json::parse(found.body);
}

std::vector<std::string> event_types(http_client& http, const std::string& key,
                                     const std::string& id) {
  auto events = http.get("/v1/jobs/" + id + "/events", key);
  REQUIRE(events.status == 200);
  auto data = json::parse(events.body)["data"];
  std::vector<std::string> types;
  for (std::size_t i = 0; i < data.size(); ++i) types.push_back(data[i]["type"].str());
  return types;
}

bool contains(const std::vector<std::string>& values, const std::string& value) {
  return std::find(values.begin(), values.end(), value) != values.end();
}

}  // namespace

TEST_CASE(
  "a test key's jobs run on the simulator only, move no credits and show livemode false, "
  "while the live key of the same account pays",
  "[e2e]") {
  test_server server(both_devices);
  auto& http = server.http();
  auto account = create_account(http, "pro", 1000);

  auto test_key = make_key(http, account.key, R"({"name":"sandbox","mode":"test"})");
  auto secret = test_key["key"].str();
  CHECK(secret.rfind("kiln_test_", 0) == 0);
  CHECK(test_key["mode"].str() == "test");
  CHECK(test_key["prefix"].str() == secret.substr(0, 14));
  auto live_key = make_key(http, account.key, R"({"name":"prod"})");
  CHECK(live_key["key"].str().rfind("kiln_sk_", 0) == 0);
  CHECK(live_key["mode"].str() == "live");
  auto bad = http.post("/v1/keys", R"({"name":"x","mode":"sandbox"})", account.key);
  CHECK(bad.status == 400);
  CHECK(json::parse(bad.body)["/error/details/field"].str() == "mode");

  auto keys = json::parse(http.get("/v1/keys", account.key).body)["data"];
  REQUIRE(keys.size() == 3);
  for (std::size_t i = 0; i < keys.size(); ++i)
    CHECK(keys[i]["mode"].str() == (keys[i]["id"].str() == test_key["id"].str() ? "test" : "live"));

  auto balance_before = balance_of(http, account.key);
  auto ledger_before = all_pages(http, account.key, "/v1/ledger").size();

  std::vector<std::string> test_jobs;
  for (int i = 0; i < 6; ++i) {
    auto created = http.post("/v1/jobs", image_job_body("test " + std::to_string(i)), secret);
    REQUIRE(created.status == 201);
    auto body = json::parse(created.body);
    CHECK_FALSE(body["livemode"].boolean());
    CHECK(body["credits_held"].integer() == 0);
    test_jobs.push_back(body["id"].str());
  }
  for (const auto& id : test_jobs) {
    auto done = wait_for_terminal(http, secret, id);
    CHECK(done["status"].str() == "succeeded");
    CHECK(done["device"].str() == "sim-0");
    CHECK_FALSE(done["livemode"].boolean());
    CHECK(done["credits_held"].integer() == 0);
    CHECK(done["credits_used"].integer() == 0);
    CHECK(done["credits_refunded"].integer() == 0);
    auto types = event_types(http, secret, id);
    CHECK(contains(types, "job.succeeded"));
    CHECK_FALSE(contains(types, "hold.placed"));
    CHECK_FALSE(contains(types, "hold.captured"));
  }
  CHECK(balance_of(http, account.key) == balance_before);
  CHECK(all_pages(http, account.key, "/v1/ledger").size() == ledger_before);
  // The estimate shows the price, and that a test job is never short of credits.
  auto estimate = http.post("/v1/jobs/estimate", image_job_body(), secret);
  REQUIRE(estimate.status == 200);
  CHECK(json::parse(estimate.body)["credits"].integer() == 1);
  CHECK(json::parse(estimate.body)["sufficient"].boolean());

  // The live key of the same account pays, and its job is marked live.
  auto live_id = submit_job(http, live_key["key"].str(), image_job_body("live"));
  auto live = wait_for_terminal(http, account.key, live_id);
  CHECK(live["status"].str() == "succeeded");
  CHECK(live["livemode"].boolean());
  CHECK(live["credits_used"].integer() == 1);
  auto balance_after = balance_of(http, account.key);
  CHECK(balance_after.used == balance_before.used + 1);
  CHECK(balance_after.available == balance_before.available - 1);
  CHECK(all_pages(http, account.key, "/v1/ledger").size() == ledger_before + 2);  // hold, capture

  // Usage counts the test jobs apart; credits used are the live job's only.
  auto usage = http.get("/v1/usage", account.key);
  REQUIRE(usage.status == 200);
  auto report = json::parse(usage.body);
  CHECK(report["/jobs_created/total"].integer() == 1);
  CHECK(report["/jobs_created/succeeded"].integer() == 1);
  CHECK(report["/jobs_created/test/total"].integer() == 6);
  CHECK(report["/jobs_created/test/succeeded"].integer() == 6);
  CHECK(report["/total/credits"].integer() == 1);

  // One Idempotency-Key and body, sent with a test key and then a live key, are two requests.
  auto first = post_keyed(http, secret, image_job_body("keyed"), "same-key");
  REQUIRE(first.status == 201);
  CHECK(post_keyed(http, secret, image_job_body("keyed"), "same-key").status == 201);
  CHECK(post_keyed(http, live_key["key"].str(), image_job_body("keyed"), "same-key").status == 422);
}

TEST_CASE(
  "a test key is never refused for credits; a test job no simulator serves waits queued, and "
  "its cancel refunds nothing",
  "[e2e]") {
  test_server server(both_devices);
  auto& http = server.http();
  auto account = create_account(http, "pro", 0, "broke");
  auto secret = make_key(http, account.key, R"({"name":"sandbox","mode":"test"})")["key"].str();

  CHECK(http.post("/v1/jobs", image_job_body(), account.key).status == 402);
  auto ran = submit_job(http, secret, image_job_body());
  CHECK(wait_for_terminal(http, secret, ran)["status"].str() == "succeeded");

  auto waiting = submit_job(http, secret, seedream_body());
  // A live seedream job would go to gpu-0 at once; the test job may not, and stays queued.
  auto other = create_account(http, "pro", 100, "payer");
  auto live_id = submit_job(http, other.key, seedream_body());
  auto live = wait_for_terminal(http, other.key, live_id);
  CHECK(live["status"].str() == "succeeded");
  CHECK(live["device"].str() == "gpu-0");
  auto queued = job_of(http, secret, waiting);
  CHECK(queued["status"].str() == "queued");
  CHECK(queued["queue_position"].integer() >= 1);
  CHECK_FALSE(queued["livemode"].boolean());
  auto devices = admin_devices(http)["data"];
  for (std::size_t i = 0; i < devices.size(); ++i) CHECK(devices[i]["running"].size() == 0);

  auto canceled = cancel(http, secret, waiting);
  REQUIRE(canceled.status == 200);
  auto answer = json::parse(canceled.body);
  CHECK(answer["status"].str() == "canceled");
  CHECK(answer["credits_refunded"].integer() == 0);
  CHECK_FALSE(answer["refund_pending"].boolean());
  auto after = job_of(http, secret, waiting);
  CHECK(after["status"].str() == "canceled");
  CHECK(after["credits_refunded"].integer() == 0);
  CHECK_FALSE(contains(event_types(http, secret, waiting), "hold.released"));
  CHECK(balance_of(http, account.key) == credits{});
  CHECK(all_pages(http, account.key, "/v1/ledger").empty());
  CHECK(cancel(http, secret, waiting).status == 409);
}

TEST_CASE(
  "a test key's webhooks go only to webhooks.test_targets, and their bodies say livemode false",
  "[e2e]") {
  webhook_listener allowed({});
  webhook_listener outside({});
  test_server server(both_devices,
                     webhooks_allowing("127.0.0.1:" + std::to_string(allowed.port())));
  auto& http = server.http();
  auto account = create_account(http, "pro", 100);
  auto secret = make_key(http, account.key, R"({"name":"sandbox","mode":"test"})")["key"].str();

  auto refused = http.post("/v1/jobs", hooked_body(outside.base_url() + "/hook"), secret);
  CHECK(refused.status == 400);
  auto error = json::parse(refused.body);
  CHECK(error["/error/code"].str() == "invalid_request");
  CHECK(error["/error/details/field"].str() == "webhook_url");
  // The same target is fine for the live key (private targets are allowed here).
  auto live_id = submit_job(http, account.key, hooked_body(outside.base_url() + "/hook"));

  auto test_id = submit_job(http, secret, hooked_body(allowed.base_url() + "/hook"));
  CHECK(wait_for_terminal(http, secret, test_id)["status"].str() == "succeeded");
  REQUIRE(eventually([&] { return !allowed.requests().empty(); }, 10s));
  auto delivered = json::parse(allowed.requests().front().body);
  CHECK(delivered["event"].str() == "job.succeeded");
  CHECK(delivered["/job/id"].str() == test_id);
  CHECK_FALSE(delivered["/job/livemode"].boolean());

  REQUIRE(eventually([&] { return !outside.requests().empty(); }, 10s));
  auto live_body = json::parse(outside.requests().front().body);
  CHECK(live_body["/job/id"].str() == live_id);
  CHECK(live_body["/job/livemode"].boolean());
  CHECK(allowed.requests().size() == 1);
}

TEST_CASE("a test key's mode and its jobs' livemode survive a SIGKILL and a restart", "[e2e]") {
  test_server server(both_devices);
  auto account = create_account(server.http(), "pro", 50);
  auto test_key = make_key(server.http(), account.key, R"({"name":"sandbox","mode":"test"})");
  auto secret = test_key["key"].str();
  auto done_id = submit_job(server.http(), secret, image_job_body());
  CHECK(wait_for_terminal(server.http(), secret, done_id)["status"].str() == "succeeded");
  auto waiting = submit_job(server.http(), secret, seedream_body());
  auto balance_before = balance_of(server.http(), account.key);

  server.process().kill();
  server.restart();
  auto& http = server.http();

  auto keys = json::parse(http.get("/v1/keys", account.key).body)["data"];
  REQUIRE(keys.size() == 2);
  for (std::size_t i = 0; i < keys.size(); ++i)
    CHECK(keys[i]["mode"].str() == (keys[i]["id"].str() == test_key["id"].str() ? "test" : "live"));
  auto done = job_of(http, secret, done_id);
  CHECK(done["status"].str() == "succeeded");
  CHECK_FALSE(done["livemode"].boolean());
  // The queued test job is still for simulators only: gpu-0 is free and takes a live job.
  auto live_id = submit_job(http, account.key, seedream_body());
  CHECK(wait_for_terminal(http, account.key, live_id)["device"].str() == "gpu-0");
  auto queued = job_of(http, secret, waiting);
  CHECK(queued["status"].str() == "queued");
  CHECK_FALSE(queued["livemode"].boolean());
  // The key still makes test jobs, which still move nothing.
  auto after_id = submit_job(http, secret, image_job_body());
  auto after = wait_for_terminal(http, secret, after_id);
  CHECK(after["device"].str() == "sim-0");
  CHECK_FALSE(after["livemode"].boolean());
  auto balance_after = balance_of(http, account.key);
  CHECK(balance_after.used == balance_before.used + 3);  // the live seedream job only
  CHECK(balance_after.held == 0);
  CHECK(cancel(http, secret, waiting).status == 200);
  CHECK(balance_of(http, account.key) == balance_after);
}

TEST_CASE("every dialect marks a test key's jobs: Killa and agent.media show livemode false",
          "[e2e][killa][agent_media]") {
  test_server server(R"([{"id":"sim-0","executor":"sim","slots":4,"latency_ms":0}])");
  auto& http = server.http();
  auto account = create_account(http, "pro", 1000);
  auto test = make_key(http, account.key, R"({"name":"ci","mode":"test"})")["key"].str();
  auto json_headers = [](const std::string& key) {
    return header_list{{"Authorization", "Bearer " + key}, {"Content-Type", "application/json"}};
  };
  auto video = http.request(
    "POST", "/api/v1/videos",
    R"({"script":"Wake up early and ship one small thing before lunch today.","target_duration":5})",
    json_headers(test));
  INFO(video.body);
  REQUIRE(video.status == 201);
  auto id = json::parse(video.body)["job_id"].str();
  CHECK(json::parse(http.get("/api/v1/videos/" + id, test).body)["livemode"].boolean() == false);
  auto live_video = http.request(
    "POST", "/api/v1/videos",
    R"({"script":"Wake up early and ship one small thing before lunch today.","target_duration":5})",
    json_headers(account.key));
  REQUIRE(live_video.status == 201);
  auto live_id = json::parse(live_video.body)["job_id"].str();
  CHECK(json::parse(http.get("/api/v1/videos/" + live_id, account.key).body)["livemode"].boolean());

  auto media =
    http.request("POST", "/api/v1/media/jobs",
                 R"({"task":"image.generate","input":{"prompt":"fox"}})", json_headers(test));
  INFO(media.body);
  REQUIRE(media.status / 100 == 2);
  CHECK(json::parse(media.body)["livemode"].boolean() == false);
  // Only the live video moved credits.
  CHECK(json::parse(http.get("/v1/balance", account.key).body)["available"].integer() == 850);
}
