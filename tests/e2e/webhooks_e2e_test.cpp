// Webhooks against the real binary and real listeners on 127.0.0.1 (plain and TLS with a test CA):
// Standard Webhooks signatures checked by an independent implementation, the retry policy
// (5xx, timeouts, refused connections, 4xx, Retry-After), delivery across a SIGKILL, redelivery,
// secret rotation, the SSRF refusal, and a slow endpoint that must not delay a fast one.
#include "tests/support/e2e.hpp"

#include "persistence/store.hpp"
#include "tests/support/independent_hmac.hpp"
#include "tests/support/ledger_e2e.hpp"
#include "tests/support/test_pki.hpp"
#include "tests/support/webhook_listener.hpp"

#include <catch2/catch.hpp>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <csignal>
#include <set>
#include <sstream>
#include <thread>

using namespace kiln::test;
using namespace std::chrono_literals;

namespace {

/// Private targets allowed (the listeners are on 127.0.0.1), 500 ms timeout, quick retries.
std::string webhook_config(const std::string& schedule = "[100, 100]",
                           const std::string& more = {}) {
  return R"("webhooks":{"allow_private_targets":true,"timeout_ms":500,"retry_schedule_ms":)" +
         schedule + more + "}";
}

std::string job_with_hook(const std::string& url, const std::string& prompt = "hooked") {
  return R"({"type":"image","model":"flux2-turbo","prompt":")" + prompt + R"(","webhook_url":")" +
         url + R"("})";
}

/// The signature a receiver computes, written here from the specification with OpenSSL alone.
std::string independent_signature(const std::string& whsec, const std::string& id,
                                  const std::string& timestamp, const std::string& body) {
  auto mac = independent_hmac(whsec, id + "." + timestamp + "." + body);
  std::string out(4 * ((mac.size() + 2) / 3), '\0');
  EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                  reinterpret_cast<const unsigned char*>(mac.data()), static_cast<int>(mac.size()));
  return "v1," + out;
}

std::vector<std::string> split_spaces(const std::string& text) {
  std::vector<std::string> parts;
  std::istringstream in(text);
  for (std::string part; in >> part;) parts.push_back(part);
  return parts;
}

bool received(const webhook_listener& listener, std::size_t count,
              std::chrono::milliseconds timeout = 10s) {
  return eventually([&] { return listener.requests().size() >= count; }, timeout);
}

json deliveries_of(http_client& http, const std::string& key, const std::string& job_id) {
  auto response = http.get("/v1/jobs/" + job_id + "/deliveries", key);
  REQUIRE(response.status == 200);
  return json::parse(response.body);
}

/// Waits until the job's deliveries are all delivered or failed; their listing.
json settled_deliveries(http_client& http, const std::string& key, const std::string& job_id) {
  json listing = deliveries_of(http, key, job_id);
  eventually([&] {
    listing = deliveries_of(http, key, job_id);
    return listing["data"].size() > 0 && listing["pending"].size() == 0;
  });
  return listing;
}

}  // namespace

TEST_CASE(
  "A terminal job's event arrives signed per Standard Webhooks and verifies with an "
  "independent implementation",
  "[e2e][webhooks]") {
  webhook_listener listener({});
  test_server server(sim_devices, webhook_config());
  auto& http = server.http();
  auto account = create_account(http);
  auto id = submit_job(
    http, account.key,
    R"({"type":"image","model":"flux2-turbo","prompt":"hooked","webhook_url":")" +
      listener.base_url() + R"(/hooks?x=1","metadata":{"order":7,"tags":["a",{"rush":true}]}})");
  REQUIRE(received(listener, 1));

  auto request = listener.requests()[0];
  CHECK(request.method == "POST");
  CHECK(request.target == "/hooks?x=1");
  CHECK(request.header("content-type") == "application/json");
  auto event = json::parse(request.body);
  CHECK(event["id"].str().rfind("evt_", 0) == 0);
  CHECK(event["event"].str() == "job.succeeded");
  CHECK(event["job"]["id"].str() == id);
  CHECK(event["job"]["status"].str() == "succeeded");
  CHECK(event["job"]["output"].size() == 1);
  CHECK(event["job"]["/metadata/order"].integer() == 7);  // the metadata as sent, any JSON
  CHECK(event["job"]["/metadata/tags/1/rush"].boolean());
  CHECK(request.header("webhook-id") == event["id"].str());
  auto timestamp = std::stoll(request.header("webhook-timestamp"));
  CHECK(std::abs(timestamp - std::time(nullptr)) < 30);
  CHECK(request.header("webhook-signature") ==
        independent_signature(account.webhook_secret, request.header("webhook-id"),
                              request.header("webhook-timestamp"), request.body));
  // A tampered body does not verify.
  CHECK(request.header("webhook-signature") !=
        independent_signature(account.webhook_secret, request.header("webhook-id"),
                              request.header("webhook-timestamp"), request.body + " "));
  CHECK(request.header("traceparent").size() == 55);

  auto listing = settled_deliveries(http, account.key, id);
  REQUIRE(listing["data"].size() == 1);
  CHECK(listing["data"][0]["attempt"].integer() == 1);
  CHECK(listing["data"][0]["status_code"].integer() == 200);
  CHECK(listing["data"][0]["delivery_status"].str() == "delivered");
  CHECK(listing["data"][0]["event_id"].str() == event["id"].str());
  CHECK(listing["data"][0]["next_retry_at"].is_null());
  CHECK(listing["data"][0]["duration_ms"].integer() >= 0);
  CHECK(http.get("/v1/jobs/job_00000000000000000000000000/deliveries", account.key).status == 404);

  // The job's timeline, each event written with the change it records.
  auto events = json::parse(http.get("/v1/jobs/" + id + "/events", account.key).body)["data"];
  std::vector<std::string> types;
  for (std::size_t i = 0; i < events.size(); ++i) {
    types.push_back(events[i]["type"].str());
    CHECK(events[i]["trace_id"].str() == event["job"]["trace_id"].str());
  }
  CHECK(types == std::vector<std::string>{"job.queued", "hold.placed", "job.dispatched",
                                          "job.started", "job.succeeded", "hold.captured",
                                          "webhook.attempt", "webhook.delivered"});
  CHECK(events[1]["details"]["amount"].integer() == 1);
  CHECK(events[2]["details"]["device"].str() == "sim-0");
  CHECK(events[2]["details"]["attempt"].integer() == 1);
  CHECK(events[3]["details"]["device"].str() == "sim-0");
  CHECK(events[6]["details"]["status_code"].integer() == 200);
  auto other = create_account(http);
  CHECK(http.get("/v1/jobs/" + id + "/events", other.key).status == 404);
}

TEST_CASE("503 503 200 gives one success after three attempts with one webhook-id",
          "[e2e][webhooks]") {
  listener_options options;
  options.script = {503, 503};
  webhook_listener listener(options);
  test_server server(sim_devices, webhook_config());
  auto& http = server.http();
  auto account = create_account(http);
  auto id = submit_job(http, account.key, job_with_hook(listener.base_url() + "/flaky"));

  auto listing = settled_deliveries(http, account.key, id);
  REQUIRE(listing["data"].size() == 3);
  CHECK(listing["data"][0]["status_code"].integer() == 503);
  CHECK_FALSE(listing["data"][0]["next_retry_at"].is_null());
  CHECK(listing["data"][1]["status_code"].integer() == 503);
  CHECK(listing["data"][2]["status_code"].integer() == 200);
  CHECK(listing["data"][2]["delivery_status"].str() == "delivered");
  auto requests = listener.requests();
  REQUIRE(requests.size() == 3);
  std::set<std::string> ids;
  for (const auto& r : requests) ids.insert(r.header("webhook-id"));
  CHECK(ids.size() == 1);
  // The schedule's 100 ms (±10%) separates the attempts.
  CHECK(requests[1].at - requests[0].at >= 85ms);
}

TEST_CASE(
  "A listener that never answers times out and the retry succeeds; a refused connection "
  "is retried until the schedule ends; a 400 is not retried",
  "[e2e][webhooks]") {
  listener_options hanging;
  hanging.script = {-1};
  webhook_listener slow_once(hanging);
  listener_options rejecting;
  rejecting.status = 400;
  webhook_listener rejects(rejecting);
  const auto refused_url = "http://127.0.0.1:" + std::to_string(closed_port()) + "/gone";
  test_server server(sim_devices, webhook_config());
  auto& http = server.http();
  auto account = create_account(http);

  auto timed_out = submit_job(http, account.key, job_with_hook(slow_once.base_url() + "/slow"));
  auto refused = submit_job(http, account.key, job_with_hook(refused_url));
  auto bad = submit_job(http, account.key, job_with_hook(rejects.base_url() + "/bad"));

  auto listing = settled_deliveries(http, account.key, timed_out);
  REQUIRE(listing["data"].size() == 2);
  CHECK(listing["data"][0]["error"].str() == "timeout");
  CHECK(listing["data"][0]["duration_ms"].integer() >= 450);
  CHECK(listing["data"][1]["status_code"].integer() == 200);
  CHECK(listing["data"][1]["delivery_status"].str() == "delivered");

  listing = settled_deliveries(http, account.key, refused);
  REQUIRE(listing["data"].size() == 3);  // the schedule [100, 100]: two retries, three attempts
  for (int i = 0; i < 3; ++i) CHECK(listing["data"][i]["error"].str() == "connection refused");
  CHECK(listing["data"][2]["delivery_status"].str() == "failed");
  CHECK(listing["data"][2]["next_retry_at"].is_null());

  listing = settled_deliveries(http, account.key, bad);
  REQUIRE(listing["data"].size() == 1);
  CHECK(listing["data"][0]["status_code"].integer() == 400);
  CHECK(listing["data"][0]["delivery_status"].str() == "failed");
  CHECK(rejects.requests().size() == 1);
}

TEST_CASE("A Retry-After on 429 is honoured up to the next step", "[e2e][webhooks]") {
  listener_options options;
  options.script = {429};
  options.headers = {{"Retry-After", "1"}};
  webhook_listener listener(options);
  test_server server(sim_devices, webhook_config("[100, 60000]"));
  auto& http = server.http();
  auto account = create_account(http);
  auto id = submit_job(http, account.key, job_with_hook(listener.base_url() + "/busy"));

  REQUIRE(received(listener, 2));
  auto requests = listener.requests();
  auto gap = std::chrono::duration_cast<std::chrono::milliseconds>(requests[1].at - requests[0].at);
  INFO("gap " << gap.count() << " ms");
  CHECK(gap >= 950ms);  // not the schedule's 100 ms
  CHECK(gap < 5s);
  auto listing = settled_deliveries(http, account.key, id);
  REQUIRE(listing["data"].size() == 2);
  CHECK(listing["data"][0]["status_code"].integer() == 429);
  CHECK(listing["data"][1]["status_code"].integer() == 200);
}

TEST_CASE("A retry pending at a SIGKILL is delivered after the restart", "[e2e][webhooks]") {
  listener_options options;
  options.script = {503};
  webhook_listener listener(options);
  test_server server(sim_devices, webhook_config("[1500, 1500]"));
  auto account = create_account(server.http());
  auto id = submit_job(server.http(), account.key, job_with_hook(listener.base_url() + "/later"));
  REQUIRE(received(listener, 1));
  REQUIRE(eventually([&] {  // the first attempt's outcome is on disk
    return deliveries_of(server.http(), account.key, id)["data"].size() == 1;
  }));
  server.process().kill(SIGKILL);
  server.restart();
  auto& http = server.http();

  auto listing = settled_deliveries(http, account.key, id);
  REQUIRE(listing["data"].size() == 2);
  CHECK(listing["data"][0]["status_code"].integer() == 503);
  CHECK(listing["data"][1]["status_code"].integer() == 200);
  CHECK(listing["data"][1]["delivery_status"].str() == "delivered");
  auto requests = listener.requests();
  REQUIRE(requests.size() == 2);
  CHECK(requests[0].header("webhook-id") == requests[1].header("webhook-id"));
  CHECK(requests[1].at - requests[0].at >= 1300ms);  // resumed at its place in the schedule
  // Delivered means done: nothing is pending, so no later start resumes anything (start-up
  // resumes exactly the deliveries in the pending index).
  CHECK(listing["pending"].size() == 0);
  REQUIRE(server.process().terminate() == 0);
  CHECK(listener.requests().size() == 2);
  auto db = kiln::store::open(server.data_dir(), kiln::durability_mode::fsync);
  REQUIRE(db);
  std::size_t pending = 0;
  CHECK_FALSE((*db)->scan(kiln::column::pending_deliveries, "",
                          [&](std::string_view, std::string_view) { return ++pending, true; }));
  CHECK(pending == 0);
}

TEST_CASE(
  "SIGTERM during a webhook attempt stops cleanly, logs no error, and the delivery "
  "resumes after the restart",
  "[e2e][webhooks]") {
  // Found when a clean stop logged webhook.actor_crashed for each attempt it cut short.
  listener_options hanging;
  hanging.script = {-1, -1, -1};
  webhook_listener listener(hanging);
  test_server server(
    sim_devices,
    R"("webhooks":{"allow_private_targets":true,"timeout_ms":30000,"retry_schedule_ms":[100]})");
  auto& http = server.http();
  auto account = create_account(http);
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i)
    ids.push_back(
      submit_job(http, account.key, job_with_hook(listener.base_url() + "/held", "held")));
  REQUIRE(received(listener, 3));  // three attempts out, none answered

  CHECK(server.process().terminate() == 0);
  auto log = server.process().stderr_text();
  CHECK(log.find("actor_crashed") == std::string::npos);
  CHECK(log.find("\"level\":\"error\"") == std::string::npos);

  server.restart();
  for (const auto& id : ids) {
    auto listing = settled_deliveries(server.http(), account.key, id);
    CHECK(listing["data"][listing["data"].size() - 1]["delivery_status"].str() == "delivered");
  }
}

TEST_CASE(
  "Redeliver sends the same event again as a new delivery, and a canceled job's event "
  "is job.canceled",
  "[e2e][webhooks]") {
  webhook_listener listener({});
  test_server server(R"([{"id":"slow","executor":"sim","slots":1,"latency_ms":60000}])",
                     webhook_config());
  auto& http = server.http();
  auto account = create_account(http);
  auto id = submit_job(http, account.key, job_with_hook(listener.base_url() + "/c"));
  auto not_yet = http.post("/v1/jobs/" + id + "/deliveries/redeliver", "", account.key);
  CHECK(not_yet.status == 400);
  REQUIRE(cancel(http, account.key, id).status == 200);
  REQUIRE(received(listener, 1));
  auto first = json::parse(listener.requests()[0].body);
  CHECK(first["event"].str() == "job.canceled");
  CHECK(first["job"]["status"].str() == "canceled");

  auto again = http.post("/v1/jobs/" + id + "/deliveries/redeliver", "", account.key);
  REQUIRE(again.status == 202);
  auto created = json::parse(again.body);
  CHECK(created["event_id"].str() == first["id"].str());
  REQUIRE(received(listener, 2));
  CHECK(listener.requests()[1].header("webhook-id") == first["id"].str());
  auto listing = settled_deliveries(http, account.key, id);
  REQUIRE(listing["data"].size() == 2);
  CHECK(listing["data"][0]["delivery_id"].str() != listing["data"][1]["delivery_id"].str());

  auto plain = submit_job(http, account.key, image_job_body());
  auto no_hook = http.post("/v1/jobs/" + plain + "/deliveries/redeliver", "", account.key);
  CHECK(no_hook.status == 400);
  CHECK(json::parse(no_hook.body)["/error/details/field"].str() == "webhook_url");
  auto other = create_account(http);
  CHECK(http.post("/v1/jobs/" + id + "/deliveries/redeliver", "", other.key).status == 404);
  CHECK(http.get("/v1/jobs/" + id + "/deliveries", other.key).status == 404);
}

TEST_CASE("After a rotation both secrets sign until the window ends", "[e2e][webhooks]") {
  webhook_listener listener({});
  test_server server(sim_devices, webhook_config());
  auto& http = server.http();
  auto account = create_account(http);
  auto shown = json::parse(http.get("/v1/webhook-secret", account.key).body);
  CHECK(shown["secret"].str() == account.webhook_secret);
  CHECK(shown["previous_secret_expires_at"].is_null());

  auto rotated = http.post("/v1/webhook-secret/rotate", "", account.key);
  REQUIRE(rotated.status == 200);
  auto fresh = json::parse(rotated.body)["secret"].str();
  CHECK(fresh.rfind("whsec_", 0) == 0);
  CHECK(fresh != account.webhook_secret);
  CHECK_FALSE(json::parse(rotated.body)["previous_secret_expires_at"].is_null());

  submit_job(http, account.key, job_with_hook(listener.base_url() + "/r"));
  REQUIRE(received(listener, 1));
  auto request = listener.requests()[0];
  auto signatures = split_spaces(request.header("webhook-signature"));
  REQUIRE(signatures.size() == 2);
  CHECK(signatures[0] == independent_signature(fresh, request.header("webhook-id"),
                                               request.header("webhook-timestamp"), request.body));
  CHECK(signatures[1] == independent_signature(account.webhook_secret, request.header("webhook-id"),
                                               request.header("webhook-timestamp"), request.body));
  // The rotation is durable.
  server.process().kill(SIGKILL);
  server.restart();
  CHECK(json::parse(server.http().get("/v1/webhook-secret", account.key).body)["secret"].str() ==
        fresh);
}

TEST_CASE("An https target is verified against the configured CA", "[e2e][webhooks]") {
  test_pki pki;
  auto cert = pki.issue("listener", "IP:127.0.0.1,DNS:localhost");
  listener_options options;
  options.tls_cert_file = cert.cert_file;
  options.tls_key_file = cert.key_file;
  webhook_listener trusted(options);
  test_pki stranger;
  auto other = stranger.issue("stranger", "IP:127.0.0.1");
  options.tls_cert_file = other.cert_file;
  options.tls_key_file = other.key_file;
  webhook_listener untrusted(options);
  test_server server(sim_devices,
                     webhook_config("[0]", R"(,"ca_file":")" + pki.ca_file() + R"(")"));
  auto& http = server.http();
  auto account = create_account(http);

  auto good = submit_job(http, account.key, job_with_hook(trusted.base_url() + "/tls"));
  auto bad = submit_job(http, account.key, job_with_hook(untrusted.base_url() + "/tls"));
  auto listing = settled_deliveries(http, account.key, good);
  CHECK(listing["data"][0]["status_code"].integer() == 200);
  listing = settled_deliveries(http, account.key, bad);
  CHECK(listing["data"][0]["error"].str().rfind("tls:", 0) == 0);
  CHECK(listing["data"][0]["delivery_status"].str() == "failed");
  CHECK(untrusted.requests().empty());
}

TEST_CASE("A webhook_url whose host does not resolve yet is accepted, and delivery says why",
          "[e2e][webhooks]") {
  // Private targets stay forbidden here, so the submit-time lookup runs.
  test_server server(sim_devices,
                     R"("webhooks":{"timeout_ms":1000,"retry_schedule_ms":[100, 100]})");
  auto& http = server.http();
  auto account = create_account(http);
  // The reserved .invalid TLD never resolves (RFC 6761): a name not yet published looks the same.
  auto id = submit_job(http, account.key, job_with_hook("https://hooks.no-such-host.invalid/x"));
  auto listing = settled_deliveries(http, account.key, id);
  REQUIRE(listing["data"].size() == 3);  // one attempt and two retries
  for (std::size_t i = 0; i < 3; ++i) {
    INFO(listing.dump());
    auto error = listing["data"][i]["error"].str();
    CHECK((error.rfind("host not found", 0) == 0 || error == "timeout"));
  }
  CHECK(listing["data"][2]["delivery_status"].str() == "failed");
}

TEST_CASE("A webhook_url reaching loopback private or link-local addresses is refused",
          "[e2e][webhooks]") {
  test_server server;  // webhooks.allow_private_targets is false by default
  auto& http = server.http();
  auto account = create_account(http);
  for (const char* url :
       {"http://127.0.0.1:9/x", "http://localhost/x", "http://10.1.2.3/", "http://192.168.0.10/",
        "http://169.254.169.254/latest", "http://[::1]/x", "https://[fe80::1]/x"}) {
    INFO(url);
    auto response = http.post("/v1/jobs", job_with_hook(url), account.key);
    CHECK(response.status == 400);
    auto body = json::parse(response.body);
    CHECK(body["/error/code"].str() == "invalid_request");
    CHECK(body["/error/details/field"].str() == "webhook_url");
  }
  CHECK(http.get("/v1/jobs", account.key).body.find("job_") == std::string::npos);
}

TEST_CASE("1000 deliveries stuck on a slow endpoint do not delay a fast endpoint",
          "[e2e][webhooks]") {
  listener_options hanging;
  hanging.mode = listener_mode::never_answer;
  webhook_listener slow(hanging);
  webhook_listener fast({});
  test_server server(R"([{"id":"sim-0","executor":"sim","slots":16,"latency_ms":0}])",
                     R"("webhooks":{"allow_private_targets":true,"timeout_ms":10000,)"
                     R"("max_per_endpoint":4,"retry_schedule_ms":[0]})");
  auto& http = server.http();
  auto account = create_account(http, "enterprise", 10000);
  for (int i = 0; i < 1000; ++i)
    submit_job(http, account.key,
               job_with_hook(slow.base_url() + "/slow", "slow " + std::to_string(i)));
  REQUIRE(eventually([&] { return slow.connections() >= 4; }));

  auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < 20; ++i)
    submit_job(http, account.key,
               job_with_hook(fast.base_url() + "/fast", "fast " + std::to_string(i)));
  REQUIRE(received(fast, 20, 5s));
  auto took = std::chrono::steady_clock::now() - started;
  INFO("20 fast deliveries took "
       << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms");
  CHECK(took < 3s);  // the slow ones time out only after 10 s
  CHECK(slow.max_concurrent() <= 4);
}
