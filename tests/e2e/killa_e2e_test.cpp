// Killa Tamata's API (seed 001) on the real binary, written from the seed alone: its quick-start
// script (submit, poll until completed, download), callbacks, idempotent retries with another
// callback URL, keys and balance in USD, errors in Killa's envelope; and a Killa job is the same
// job under the core API.
#include "devices/media/media_render.hpp"
#include "tests/support/e2e.hpp"
#include "tests/support/killa.hpp"
#include "tests/support/webhook_listener.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace kiln::test;

namespace {

header_list bearer_json(const std::string& key, header_list extra = {}) {
  header_list headers{{"Authorization", "Bearer " + key}, {"Content-Type", "application/json"}};
  headers.insert(headers.end(), extra.begin(), extra.end());
  return headers;
}

http_response killa_submit(http_client& http, const std::string& key, const std::string& body,
                           header_list extra = {}) {
  return http.request("POST", "/api/v1/media/jobs", body, bearer_json(key, std::move(extra)));
}

json killa_poll(http_client& http, const std::string& key, const std::string& id,
                bool details = false) {
  json job = json::parse("{}");
  eventually([&] {
    auto answer =
      http.request("GET", "/api/v1/media/jobs?jobId=" + id + (details ? "&includeDetails=1" : ""),
                   {}, {{"Authorization", "Bearer " + key}});
    job = json::parse(answer.body);
    auto status = job["status"].str();
    return status == "completed" || status == "failed" || status == "canceled";
  });
  return job;
}

const std::string fox =
  R"({"task":"image.generate","input":{"prompt":"cinematic fox astronaut","width":1024,"height":1024}})";

}  // namespace

TEST_CASE("Killa's quick start: submit image.generate, poll until completed, download the image",
          "[e2e][killa]") {
  test_server server(builtin_devices);
  auto& http = server.http();
  auto account = create_account(http, "pro", 100);

  auto submitted = killa_submit(http, account.key, fox);
  INFO(submitted.body);
  REQUIRE(submitted.status / 100 == 2);
  auto job = json::parse(submitted.body);
  CHECK(job["ok"].boolean());
  CHECK(job["task"].str() == "image.generate");
  auto id = job["externalJobId"].str();
  CHECK(job["jobId"].str() == id);
  CHECK(job["/effectiveInput/width"].integer() == 1024);
  CHECK(job["inputAdjustments"].size() == 0);
  CHECK(job["/billing/usdHeld"].str() == "0.04");  // qwen-image: 4 credits at $0.01

  auto done = killa_poll(http, account.key, id);
  REQUIRE(done["status"].str() == "completed");
  CHECK(done["/billing/usdCharged"].str() == "0.04");
  REQUIRE(done["downloadableOutputUrls"].size() == 1);
  auto url = done["downloadableOutputUrls"][0].str();
  auto file = http.get(url.substr(url.find("/v1/files/")));
  REQUIRE(file.status == 200);
  auto info = kiln::media::read_webp_info(file.body);  // Killa's default outputFormat: webp
  CHECK((info.ok && info.width == 1024 && info.height == 1024));

  // The same job under the core API, in substance.
  auto core = json::parse(http.get("/v1/jobs/" + id, account.key).body);
  CHECK(core["status"].str() == "succeeded");
  CHECK(core["model"].str() == "qwen-image");
  CHECK(core["credits_used"].integer() == 4);
  CHECK(core["/params/width"].integer() == 1024);
  CHECK(core["/output/0/url"].str().find(url.substr(url.find("/v1/files/"), 40)) !=
        std::string::npos);
  // The detailed view adds the device, attempts and the timeline.
  auto details = killa_poll(http, account.key, id, true);
  CHECK(details["detailsIncluded"].boolean());
  CHECK(details["attempts"].integer() == 1);
  CHECK(details["/billing/finalized"].boolean());
  CHECK(details["events"].size() >= 4);
  // The balance in USD, and the identity across both APIs.
  auto balance = json::parse(
    http.request("GET", "/api/v1/balance", {}, {{"Authorization", "Bearer " + account.key}}).body);
  CHECK(balance["usdMicros"].integer() == 96 * 10000);
  CHECK(balance["usd"].str() == "0.96");
  auto rest = json::parse(http.get("/v1/balance", account.key).body);
  CHECK(rest["granted"].integer() ==
        rest["available"].integer() + rest["held"].integer() + rest["used"].integer());
  CHECK(rest["used"].integer() == 4);
}

TEST_CASE(
  "A Killa retry with the same key and another callback replays the first job, and only "
  "the first callback is called, with the detailed view",
  "[e2e][killa][webhooks]") {
  webhook_listener first({});
  listener_options failing_once;
  failing_once.script = {500};  // the first attempt fails: the retry goes at once
  webhook_listener second(failing_once);
  test_server server(sim_devices, R"("webhooks":{"allow_private_targets":true})");
  auto& http = server.http();
  auto account = create_account(http, "pro", 100);
  auto body = [&](const std::string& callback) {
    return R"({"task":"image.generate","completionCallbackUrl":")" + callback +
           R"(/hook?token=t","input":{"prompt":"fox","width":512,"height":512}})";
  };
  auto a = killa_submit(http, account.key, body(first.base_url()), {{"X-Idempotency-Key", "k-1"}});
  REQUIRE(a.status / 100 == 2);
  auto b = killa_submit(http, account.key, body(second.base_url()), {{"X-Idempotency-Key", "k-1"}});
  REQUIRE(b.status / 100 == 2);
  CHECK(b.header("idempotent-replayed") == "true");
  auto id = json::parse(a.body)["externalJobId"].str();
  CHECK(json::parse(b.body)["externalJobId"].str() == id);
  // The key may come in the body too; the same request replays, another is refused.
  auto c =
    killa_submit(http, account.key,
                 R"({"task":"image.generate","idempotencyKey":"k-1","input":{"prompt":"fox",)"
                 R"("width":512,"height":512}})");
  CHECK(json::parse(c.body)["externalJobId"].str() == id);
  check_killa_error(killa_submit(http, account.key,
                                 R"({"task":"image.generate","idempotencyKey":"k-1",)"
                                 R"("input":{"prompt":"a different fox"}})"),
                    422, "idempotency_key_reused");
  check_killa_error(
    killa_submit(http, account.key,
                 R"({"task":"image.generate","idempotencyKey":"k-2","input":{"prompt":"x"}})",
                 {{"X-Idempotency-Key", "k-3"}}),
    400, "invalid_request", "idempotencyKey");
  CHECK(json::parse(http.get("/v1/balance", account.key).body)["used"].integer() +
          json::parse(http.get("/v1/balance", account.key).body)["held"].integer() ==
        4);  // one job, one hold

  REQUIRE(eventually([&] { return !first.requests().empty(); }));
  auto callback = first.requests().front();
  CHECK(callback.target == "/hook?token=t");
  auto sent = json::parse(callback.body);
  CHECK(sent["callbackType"].str() == "media_job_terminal");
  CHECK(sent["externalJobId"].str() == id);
  CHECK(sent["status"].str() == "completed");
  CHECK(sent["detailsIncluded"].boolean());
  CHECK(sent["downloadableOutputUrls"].size() == 1);
  CHECK_FALSE(callback.header("webhook-signature").empty());
  CHECK(second.requests().empty());  // the first request owns the callback

  // A callback that fails is retried at once, then on the schedule.
  auto retried = killa_submit(http, account.key, body(second.base_url()));
  REQUIRE(eventually([&] { return second.requests().size() >= 2; }));
  auto gap = second.requests()[1].at - second.requests()[0].at;
  CHECK(gap < std::chrono::seconds(3));
  CHECK(json::parse(second.requests()[1].body)["externalJobId"].str() ==
        json::parse(retried.body)["externalJobId"].str());
}

TEST_CASE("Killa keys, balance, health and every error in Killa's envelope", "[e2e][killa]") {
  test_server server;
  auto& http = server.http();
  auto account = create_account(http, "pro", 0);
  auto auth = header_list{{"Authorization", "Bearer " + account.key}};

  auto health = json::parse(http.get("/api/v1/health").body);
  CHECK(health["ok"].boolean());

  auto created =
    http.request("POST", "/api/v1/keys", R"({"label":"Agent Worker A"})", bearer_json(account.key));
  REQUIRE(created.status / 100 == 2);
  auto minted = json::parse(created.body);
  CHECK(minted["ok"].boolean());
  CHECK(minted["label"].str() == "Agent Worker A");
  auto second_key = minted["apiKey"].str();
  CHECK(http.request("GET", "/api/v1/balance", {}, {{"Authorization", "Bearer " + second_key}})
          .status == 200);
  auto keys = json::parse(http.request("GET", "/api/v1/keys", {}, auth).body);
  CHECK(keys["keys"].size() == 2);
  auto revoked = http.request("POST", "/api/v1/keys/revoke",
                              R"({"keyPrefix":")" + minted["keyPrefix"].str() + R"("})",
                              bearer_json(account.key));
  CHECK(json::parse(revoked.body)["revoked"].boolean());
  check_killa_error(
    http.request("GET", "/api/v1/balance", {}, {{"Authorization", "Bearer " + second_key}}), 401,
    "unauthorized");
  check_killa_error(
    http.request("POST", "/api/v1/keys", R"({"idToken":"eyJ"})", bearer_json(account.key)), 501,
    "not_supported");

  check_killa_error(killa_submit(http, account.key, fox), 402, "insufficient_credits");
  check_killa_error(
    http.request("POST", "/api/v1/media/jobs", fox, {{"Content-Type", "application/json"}}), 401,
    "unauthorized");
  check_killa_error(killa_submit(http, account.key, "not json"), 400, "invalid_json");
  check_killa_error(killa_submit(http, account.key, R"({"input":{"prompt":"p"}})"), 400,
                    "invalid_request", "task");
  check_killa_error(killa_submit(http, account.key, R"({"task":"video.combine","input":{}})"), 400,
                    "invalid_request", "task");
  check_killa_error(
    killa_submit(
      http, account.key,
      R"({"task":"image.generate","input":{"prompt":"p","referenceImages":["https://x/y.png"]}})"),
    400, "invalid_request", "input.referenceImages");
  check_killa_error(killa_submit(http, account.key,
                                 R"({"task":"image.generate","input":{"prompt":"p","colour":1}})"),
                    400, "invalid_request", "input.colour");
  check_killa_error(killa_submit(http, account.key,
                                 R"({"task":"image.generate","input":{"prompt":"p","width":100}})"),
                    400, "invalid_request", "params.width");
  check_killa_error(
    http.request("POST", "/api/v1/media/jobs", fox,
                 {{"Authorization", "Bearer " + account.key}, {"Content-Type", "text/plain"}}),
    415, "unsupported_media_type");
  check_killa_error(http.request("GET", "/api/v1/media/jobs", {}, auth), 400, "invalid_request",
                    "jobId");
  check_killa_error(http.request("GET", "/api/v1/media/jobs?jobId=job_nope", {}, auth), 404,
                    "not_found");
  check_killa_error(http.request("POST", "/api/v1/checkout/stripe", "{}", bearer_json(account.key)),
                    501, "not_supported");
  // Refusals the core makes before a route runs come in Killa's envelope under /api/v1 too.
  check_killa_error(http.request("GET", "/api/v1/no-such-thing", {}, auth), 404, "not_found");
  check_killa_error(http.request("DELETE", "/api/v1/balance", {}, auth), 405, "method_not_allowed");
  check_killa_error(
    http.request("POST", "/api/v1/media/jobs", std::string(1100000, 'x'), bearer_json(account.key)),
    413, "payload_too_large");
  // ... and only there: the core keeps its own.
  CHECK(json::parse(http.get("/v1/no-such-thing").body).has("error"));
  // Nothing above created a job or moved a credit.
  CHECK(json::parse(http.get("/v1/jobs", account.key).body)["data"].size() == 0);
}

TEST_CASE("Killa's audio and video tasks run on the catalog's models with the seed's field names",
          "[e2e][killa]") {
  test_server server;
  auto& http = server.http();
  auto account = create_account(http, "pro", 10000);
  struct task {
    std::string body;
    std::string model;
  };
  const task tasks[] = {
    {R"({"task":"audio.speak","input":{"provider":"gemini","text":"We launch at dawn.","voiceName":"Kore"}})",
     "gemini-tts"},
    {R"({"task":"audio.speak","input":{"text":"We launch at dawn.","voiceDescription":"female, young adult"}})",
     "omnivoice-tts"},
    {R"({"task":"ace.step.create","input":{"tags":"electro-pop","durationSeconds":30,"quality":"192k"}})",
     "ace-step"},
    {R"({"task":"moss.sound.effect","input":{"prompt":"a pistol shot","durationSeconds":2}})",
     "moss-sound-effect"},
    {R"({"task":"video.generate","input":{"prompt":"a neon city","durationSeconds":6,"extremeQuality":true}})",
     "ltx-2-3"},
  };
  for (const auto& t : tasks) {
    INFO(t.body);
    auto answer = killa_submit(http, account.key, t.body);
    REQUIRE(answer.status / 100 == 2);
    auto id = json::parse(answer.body)["externalJobId"].str();
    auto done = killa_poll(http, account.key, id);
    CHECK(done["status"].str() == "completed");
    CHECK(json::parse(http.get("/v1/jobs/" + id, account.key).body)["model"].str() == t.model);
  }
  // ace-step at 192k: 30 s x 1 credit + 50% = 45 credits = $0.45.
  auto song = json::parse(killa_submit(http, account.key, tasks[2].body).body);
  CHECK(song["/billing/usdHeld"].str() == "0.45");
  // ltx-2-3 with extremeQuality: 6 s x 30 fps = 180 frames + 50% = 270 credits = $2.70.
  auto clip = json::parse(killa_submit(http, account.key, tasks[4].body).body);
  CHECK(clip["/billing/usdHeld"].str() == "2.70");
}

TEST_CASE("Killa's discovery documents and packages describe the routes this server serves",
          "[e2e][killa]") {
  test_server server(sim_devices,
                     R"("frontends":{"killa":{"packages":[{"code":"starter-10","label":"$10",)"
                     R"("usd_cents":1000,"credits":1000}]}})");
  auto& http = server.http();
  auto openapi = http.get("/openapi.json");
  REQUIRE(openapi.status == 200);
  CHECK(openapi.header("content-type") == "application/json");
  auto doc = json::parse(openapi.body);
  CHECK(doc["openapi"].str() == "3.1.0");
  CHECK(doc["/servers/0/url"].str() == "http://127.0.0.1:" + std::to_string(http.port()));
  CHECK(doc["/paths/~1api~1v1~1media~1jobs"].has("post"));
  CHECK(doc["/paths/~1api~1v1~1media~1jobs"].has("get"));
  CHECK(doc["/paths/~1api~1v1~1health/get"].has("security") == false);  // no key needed
  // Every documented route answers something other than 404 here.
  for (const auto& path : doc["paths"].keys()) {
    INFO(path);
    std::string pointer = "/paths/";  // JSON pointer: "/" in a key is "~1"
    for (char ch : path) pointer += ch == '/' ? std::string("~1") : std::string(1, ch);
    bool post = doc[pointer].has("post");
    auto answer = http.request(post ? "POST" : "GET", path, post ? "{}" : "",
                               {{"Content-Type", "application/json"}});
    CHECK(answer.status != 404);
  }
  auto llms = http.get("/llms.txt");
  CHECK(llms.header("content-type").starts_with("text/plain"));
  CHECK(llms.body.find("POST /api/v1/media/jobs") != std::string::npos);
  auto manifest = json::parse(http.get("/.well-known/agent-skills.json").body);
  auto skill_url = manifest["/skills/0/url"].str();
  auto skill = http.get(skill_url.substr(skill_url.find("/skills/")));
  CHECK(skill.status == 200);
  CHECK(skill.body.find("/api/v1/media/jobs") != std::string::npos);
  auto packages = json::parse(http.get("/api/v1/packages").body);
  CHECK(packages["ok"].boolean());
  CHECK(packages["/packages/0/packageCode"].str() == "starter-10");
  CHECK(packages["/packages/0/credits"].integer() == 1000);
}

TEST_CASE("Killa on a listener of its own serves its paths only, every error in its envelope",
          "[e2e][killa]") {
  test_server server(sim_devices, R"("frontends":{"killa":{"listen":"127.0.0.1:0"}})");
  const auto& printed = server.process().startup_output();
  auto at = printed.find("killa listening on http://127.0.0.1:");
  REQUIRE(at != std::string::npos);
  auto port = static_cast<std::uint16_t>(
    std::stoi(printed.substr(at + std::string("killa listening on http://127.0.0.1:").size())));
  REQUIRE(port != server.http().port());
  http_client killa(port);
  auto account = create_account(server.http(), "pro", 100);
  auto submitted = killa_submit(killa, account.key, fox);
  REQUIRE(submitted.status / 100 == 2);
  auto done = killa_poll(killa, account.key, json::parse(submitted.body)["externalJobId"].str());
  REQUIRE(done["status"].str() == "completed");
  auto url = done["downloadableOutputUrls"][0].str();
  CHECK(url.find(":" + std::to_string(port) + "/v1/files/") != std::string::npos);
  CHECK(killa.get(url.substr(url.find("/v1/files/"))).status == 200);  // files are served here
  // The core's routes are not, and even their 404 is Killa's.
  check_killa_error(killa.get("/v1/balance", account.key), 404, "not_found");
  check_killa_error(killa.get("/healthz"), 404, "not_found");
  CHECK(server.http().get("/v1/balance", account.key).status == 200);  // still on the main port
}
