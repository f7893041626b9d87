// MercaDream's /v2 API on the real binary, written from the seed alone: generate, wait and
// download a real WebM and its thumbnail; speech and music of the asked length; the plan gates
// (no API access on the free plan, a largest resolution per plan); `before` paging over hundreds
// of jobs; webhooks on processing and completion whose in-body `sha256=` signature a receiver
// checks with OpenSSL alone (docs/frontends.md); every error in {error: {code, message}}.
#include "tests/support/e2e.hpp"

#include "models/json_writer.hpp"
#include "tests/support/independent_hmac.hpp"
#include "tests/support/media_probe.hpp"
#include "tests/support/webhook_listener.hpp"

#include <catch2/catch.hpp>

#include <set>
#include <string>
#include <vector>

using namespace kiln::test;

namespace {

/// MercaDream's plans (seed's rate limit table) and its free plan without API access.
const std::string plans =
  R"("plans":[{"name":"free","rank":0,"requests_per_minute":100000,"max_concurrent_jobs":1,)"
  R"("api_access":false},)"
  R"({"name":"starter","rank":1,"requests_per_minute":100000,"max_concurrent_jobs":2,)"
  R"("max_pixels":921600},)"
  R"({"name":"pro","rank":2,"requests_per_minute":100000,"max_concurrent_jobs":64,)"
  R"("max_pixels":8294400},)"
  R"({"name":"enterprise","rank":3,"requests_per_minute":100000,"max_concurrent_jobs":64}],)"
  R"("webhooks":{"allow_private_targets":true,"timeout_ms":500,"retry_schedule_ms":[100,100]})";

header_list json_bearer(const std::string& key) {
  return {{"Authorization", "Bearer " + key}, {"Content-Type", "application/json"}};
}

http_response post(http_client& http, const std::string& path, const std::string& key,
                   const std::string& body) {
  return http.request("POST", path, body, json_bearer(key));
}

void check_error(const http_response& answer, int status, const std::string& code,
                 const std::string& param = {}) {
  INFO(answer.body);
  CHECK(answer.status == status);
  auto error = json::parse(answer.body)["error"];
  CHECK(error["code"].str() == code);
  CHECK_FALSE(error["message"].str().empty());
  if (!param.empty()) CHECK(error["param"].str() == param);
}

/// Polls GET /v2/jobs/{id} as the seed's client does until the job is completed or failed.
json wait_for(http_client& http, const std::string& key, const std::string& id) {
  json now = json::parse("{}");
  eventually(
    [&] {
      now = json::parse(http.get("/v2/jobs/" + id, key).body);
      return now["status"].str() == "completed" || now["status"].str() == "failed";
    },
    std::chrono::seconds(60));
  return now;
}

/// HMAC-SHA256 of `message` keyed with the bytes of a whsec_ secret, as hex: OpenSSL alone.
std::string independent_hmac_hex(const std::string& whsec, const std::string& message) {
  static const char* digits = "0123456789abcdef";
  std::string hex;
  for (unsigned char byte : independent_hmac(whsec, message)) {
    hex += digits[byte >> 4];
    hex += digits[byte & 15];
  }
  return hex;
}

/// The documented rule: the body as sent, without its last member `"signature": "..."`, is what
/// was signed; the signature is "sha256=" + the HMAC's hex.
bool signature_verifies(const std::string& whsec, const std::string& body) {
  auto at = body.rfind(R"(,"signature":")");
  if (at == std::string::npos || body.back() != '}') return false;
  auto signature = body.substr(at + 14, body.size() - at - 14 - 2);
  auto signed_part = body.substr(0, at) + "}";
  return signature == "sha256=" + independent_hmac_hex(whsec, signed_part);
}

}  // namespace

TEST_CASE("MercaDream: generate, wait, download a real video and its thumbnail",
          "[e2e][mercadream]") {
  test_server server(builtin_devices, plans);
  auto& http = server.http();
  auto account = create_account(http, "pro", 1000);
  // The seed's example request, then its SDK's generate(prompt, resolution, duration, style).
  auto made = post(http, "/v2/generate", account.key,
                   R"({"prompt": "Neon rain on Tokyo streets at midnight", "resolution": "4k",)"
                   R"( "duration": 15, "style": "cinematic"})");
  INFO(made.body);
  REQUIRE(made.status == 201);
  auto job = json::parse(made.body);
  CHECK(job["id"].str().rfind("job_", 0) == 0);
  CHECK(job["status"].str() == "queued");
  CHECK(job["prompt"].str() == "Neon rain on Tokyo streets at midnight");
  CHECK(job["resolution"].str() == "4k");
  CHECK(job["duration"].integer() == 15);
  CHECK(job["compute_units"].integer() == 12);
  CHECK(job["estimated_completion"].str() > job["created_at"].str());

  auto done = wait_for(http, account.key, job["id"].str());
  REQUIRE(done["status"].str() == "completed");
  CHECK(done["progress"].integer() == 100);
  CHECK(done["duration"].integer() == 15);
  CHECK(done["resolution"].str() == "4k");
  CHECK_FALSE(done["completed_at"].str().empty());
  auto video = http.get(done["download_url"].str().substr(done["download_url"].str().find("/v1/")));
  REQUIRE(video.status == 200);
  CHECK(done["file_size_bytes"].integer() == static_cast<std::int64_t>(video.body.size()));
  media_file webm(video.body, ".webm");
  auto probe = ffprobe(webm);
  CHECK(probe["/streams/0/codec_name"].str() == "vp9");
  CHECK(probe["/format/duration"].str() == "15.000000");
  auto still =
    http.get(done["thumbnail_url"].str().substr(done["thumbnail_url"].str().find("/v1/")));
  REQUIRE(still.status == 200);
  CHECK(still.body.substr(1, 3) == "PNG");
  // The same job under the core API, with MercaDream's fields as the model's options.
  auto core = json::parse(http.get("/v1/jobs/" + job["id"].str(), account.key).body);
  CHECK(core["model"].str() == "merca-video");
  CHECK(core["/options/style"].str() == "cinematic");
  CHECK(core["/options/fps"].integer() == 24);
  auto balance = json::parse(http.get("/v1/balance", account.key).body);
  CHECK(balance["used"].integer() == 12);

  // Speech and music: real audio of the asked length.
  auto speech = post(http, "/v2/speech", account.key,
                     R"({"text": "MercaDream turns words into a voice.", "voice_id": )"
                     R"("neural-narrator-f", "format": "wav", "speed": 1.25})");
  INFO(speech.body);
  REQUIRE(speech.status == 201);
  auto music = post(http, "/v2/music", account.key,
                    R"({"prompt": "warm lofi piano, rain", "duration": 20, "bpm": 80})");
  INFO(music.body);
  REQUIRE(music.status == 201);
  CHECK(json::parse(music.body)["compute_units"].integer() == 20);
  auto heard = wait_for(http, account.key, json::parse(speech.body)["id"].str());
  REQUIRE(heard["status"].str() == "completed");
  CHECK(heard["type"].str() == "speech");
  auto composed = wait_for(http, account.key, json::parse(music.body)["id"].str());
  REQUIRE(composed["status"].str() == "completed");
  CHECK(composed["duration"].integer() == 20);
  auto wav =
    http.get(composed["download_url"].str().substr(composed["download_url"].str().find("/v1/")));
  REQUIRE(wav.status == 200);
  media_file song(wav.body, ".wav");
  CHECK(ffprobe(song)["/format/duration"].str().rfind("20.0", 0) == 0);
  auto voice =
    http.get(heard["download_url"].str().substr(heard["download_url"].str().find("/v1/")));
  media_file spoken(voice.body, ".wav");
  CHECK(ffprobe(spoken)["/streams/0/codec_name"].str() == "pcm_s16le");

  // The Vault lists every stored output of the account's completed jobs.
  auto vault = json::parse(http.get("/v2/vault", account.key).body);
  std::set<std::string> in_vault;
  for (std::size_t i = 0; i < vault["assets"].size(); ++i)
    in_vault.insert(vault["assets"][i]["job_id"].str());
  CHECK(in_vault.count(job["id"].str()) == 1);
  CHECK(in_vault.count(heard["id"].str()) == 1);
  CHECK(vault["assets"].size() == 4);  // video + thumbnail, speech, music
}

TEST_CASE("MercaDream: plan gates and every error in its envelope", "[e2e][mercadream]") {
  test_server server(sim_devices, plans);
  auto& http = server.http();
  auto free = create_account(http, "free", 1000);
  auto regular = create_account(http, "starter", 1000);
  auto pro = create_account(http, "pro", 1000);
  check_error(post(http, "/v2/generate", free.key, R"({"prompt":"x"})"), 403, "plan_required");
  check_error(post(http, "/v2/generate", regular.key, R"({"prompt":"x"})"), 403, "plan_limit",
              "resolution");  // 4k by default; the regular plan stops at 720p
  CHECK(post(http, "/v2/generate", regular.key, R"({"prompt":"x","resolution":"720p"})").status ==
        201);
  check_error(post(http, "/v2/generate", pro.key, R"({"prompt":"x","resolution":"8k"})"), 403,
              "plan_limit", "resolution");
  check_error(post(http, "/v2/generate", pro.key, R"({"resolution":"4k"})"), 400, "invalid_request",
              "prompt");
  check_error(post(http, "/v2/generate", pro.key, R"({"prompt":"x","duration":45})"), 400,
              "invalid_request", "duration");
  check_error(post(http, "/v2/generate", pro.key, R"({"prompt":"x","fps":25})"), 400,
              "invalid_request", "fps");
  check_error(post(http, "/v2/generate", pro.key, R"({"prompt":"x","voice_id":"nobody"})"), 400,
              "invalid_request", "voice_id");
  check_error(post(http, "/v2/generate", pro.key, "{nope"), 400, "invalid_json");
  check_error(post(http, "/v2/speech", pro.key, R"({"text":"hi","speed":3})"), 400,
              "invalid_request", "speed");
  check_error(post(http, "/v2/speech", pro.key, R"({"text":"hi","format":"ogg"})"), 400,
              "invalid_request", "format");
  check_error(post(http, "/v2/speech", pro.key, R"({"text":")" + std::string(5001, 'a') + "\"}"),
              400, "invalid_request", "text");
  check_error(post(http, "/v2/music", pro.key, R"({"prompt":"x","duration":301})"), 400,
              "invalid_request", "duration");
  check_error(post(http, "/v2/music", pro.key, R"({"prompt":"x","bpm":20})"), 400,
              "invalid_request", "bpm");
  check_error(http.request("POST", "/v2/generate", R"({"prompt":"x"})",
                           {{"Content-Type", "application/json"}}),
              401, "unauthorized");
  check_error(http.get("/v2/jobs/job_nothing", pro.key), 404, "not_found");
  check_error(http.get("/v2/jobs?status=done", pro.key), 400, "invalid_request", "status");
  check_error(http.get("/v2/jobs?before=yesterday", pro.key), 400, "invalid_request", "before");
  check_error(http.get("/v2/nowhere", pro.key), 404, "not_found");
  // A job of another account is not found.
  auto mine = json::parse(post(http, "/v2/music", pro.key, R"({"prompt":"x"})").body)["id"].str();
  check_error(http.get("/v2/jobs/" + mine, regular.key), 404, "not_found");
}

TEST_CASE("MercaDream: `before` pages through hundreds of jobs without a gap or a repeat",
          "[e2e][mercadream]") {
  test_server server(sim_devices, plans);
  auto& http = server.http();
  auto account = create_account(http, "pro", 100'000);
  std::vector<std::string> made;  // oldest first
  for (int i = 0; i < 240; ++i) {
    auto answer =
      post(http, "/v2/speech", account.key, R"({"text":"line )" + std::to_string(i) + R"("})");
    REQUIRE(answer.status == 201);
    made.push_back(json::parse(answer.body)["id"].str());
  }
  std::vector<std::string> seen;
  std::string before;
  for (int page = 0; page < 20; ++page) {
    auto answer =
      http.get("/v2/jobs?limit=50" + (before.empty() ? "" : "&before=" + before), account.key);
    INFO(answer.body.substr(0, 300));
    REQUIRE(answer.status == 200);
    auto list = json::parse(answer.body);
    for (std::size_t i = 0; i < list["jobs"].size(); ++i)
      seen.push_back(list["jobs"][i]["id"].str());
    if (!list["has_more"].boolean()) break;
    before = list["next_before"].str();
  }
  std::vector<std::string> newest(made.rbegin(), made.rend());
  CHECK(seen == newest);
  // A time between two jobs starts right below it.
  auto middle = json::parse(http.get("/v2/jobs/" + made[100], account.key).body);
  auto below = json::parse(
    http.get("/v2/jobs?limit=3&before=" + middle["created_at"].str(), account.key).body);
  REQUIRE(below["jobs"].size() == 3);
  CHECK(below["/jobs/0/id"].str() == made[99]);
  CHECK(below["/jobs/2/id"].str() == made[97]);
}

TEST_CASE("MercaDream: webhooks on processing and completion, signed in the body",
          "[e2e][mercadream][webhooks]") {
  webhook_listener listener({});
  test_server server(sim_devices, plans);
  auto& http = server.http();
  auto account = create_account(http, "pro", 1000);
  auto made = post(
    http, "/v2/music", account.key,
    R"({"prompt":"drums","duration":15,"webhook_url":")" + listener.base_url() + R"(/merca"})");
  REQUIRE(made.status == 201);
  auto id = json::parse(made.body)["id"].str();
  REQUIRE(eventually([&] { return listener.requests().size() >= 2; }));
  auto requests = listener.requests();
  std::vector<std::string> events;
  for (const auto& request : requests) {
    INFO(request.body);
    auto event = json::parse(request.body);
    events.push_back(event["event"].str());
    CHECK(event["job_id"].str() == id);
    CHECK(event["status"].str() == event["event"].str().substr(4));
    CHECK_FALSE(event["timestamp"].str().empty());
    CHECK(signature_verifies(account.webhook_secret, request.body));
    // A changed byte no longer verifies.
    auto tampered = request.body;
    tampered[tampered.find(id) + 4] ^= 1;
    CHECK_FALSE(signature_verifies(account.webhook_secret, tampered));
    // The Standard Webhooks headers come too.
    CHECK(request.header("webhook-id").rfind("evt_", 0) == 0);
    CHECK(request.header("webhook-signature").rfind("v1,", 0) == 0);
    if (event["event"].str() == "job.completed")
      CHECK(event["download_url"].str().find("/v1/files/") != std::string::npos);
    else CHECK(event["download_url"].is_null());
  }
  CHECK(std::count(events.begin(), events.end(), "job.processing") == 1);
  CHECK(std::count(events.begin(), events.end(), "job.completed") == 1);
}

TEST_CASE("MercaDream: mk_test_ keys run on simulators only and never touch the ledger",
          "[e2e][mercadream][test_keys]") {
  test_server server(R"([{"id":"gpu-0","executor":"builtin","slots":2},)"
                     R"({"id":"sim-0","executor":"sim","slots":4,"latency_ms":0}])",
                     plans);
  auto& http = server.http();
  auto account = create_account(http, "pro", 1000);
  auto minted = [&](const std::string& mode) {
    auto answer = http.request(
      "POST", "/v1/keys",
      R"({"name":"merca )" + mode + R"(","mode":")" + mode + R"(","style":"mercadream"})",
      json_bearer(account.key));
    INFO(answer.body);
    REQUIRE(answer.status == 201);
    return json::parse(answer.body)["key"].str();
  };
  auto live = minted("live");
  auto test = minted("test");
  CHECK(live.rfind("mk_live_", 0) == 0);
  CHECK(test.rfind("mk_test_", 0) == 0);
  auto before = http.get("/v1/balance", account.key).body;
  auto ledger_before = http.get("/v1/ledger", account.key).body;
  std::vector<std::string> ids;
  for (int i = 0; i < 4; ++i) {
    auto made = post(http, "/v2/generate", test, R"({"prompt":"test run","duration":15})");
    INFO(made.body);
    REQUIRE(made.status == 201);
    CHECK(json::parse(made.body)["livemode"].boolean() == false);
    ids.push_back(json::parse(made.body)["id"].str());
  }
  for (const auto& id : ids) {
    auto done = wait_for(http, test, id);
    CHECK(done["status"].str() == "completed");
    CHECK(done["livemode"].boolean() == false);
    CHECK(json::parse(http.get("/v1/jobs/" + id, account.key).body)["device"].str() == "sim-0");
  }
  CHECK(http.get("/v1/balance", account.key).body == before);
  CHECK(http.get("/v1/ledger", account.key).body == ledger_before);
  // The live key pays, as any key of the account.
  auto paid = post(http, "/v2/generate", live, R"({"prompt":"live run","duration":15})");
  REQUIRE(paid.status == 201);
  CHECK(json::parse(paid.body)["livemode"].boolean());
  wait_for(http, live, json::parse(paid.body)["id"].str());
  CHECK(json::parse(http.get("/v1/balance", account.key).body)["used"].integer() == 12);
  check_error(http.request("POST", "/v1/keys", R"({"style":"stripe"})", json_bearer(account.key)),
              400, "invalid_request");
}

TEST_CASE("MercaDream's Vault: files kept for the retention window, then deleted and said so",
          "[e2e][mercadream][retention]") {
  test_server server(sim_devices,
                     plans + R"(,"outputs":{"retention_days":1},"faults":{"clock_offset_ms":0})");
  auto account = create_account(server.http(), "pro", 1000);
  auto old = json::parse(
    post(server.http(), "/v2/music", account.key, R"({"prompt":"old tune","duration":15})").body);
  auto old_done = wait_for(server.http(), account.key, old["id"].str());
  REQUIRE(old_done["status"].str() == "completed");
  auto vault = json::parse(server.http().get("/v2/vault", account.key).body);
  REQUIRE(vault["assets"].size() == 1);
  CHECK(vault["/assets/0/expired"].boolean() == false);
  auto expires = *kiln::parse_time_ms(vault["/assets/0/expires_at"].str());
  CHECK(expires == *kiln::parse_time_ms(old_done["completed_at"].str()) + 86'400'000);

  // A day and a bit later: the old file is gone, and the Vault and the job say so.
  server.process().kill();
  set_clock_offset(server, 86'400'000 + 600'000);
  server.restart();
  auto& http = server.http();
  auto fresh = json::parse(
    post(http, "/v2/music", account.key, R"({"prompt":"new tune","duration":15})").body);
  REQUIRE(wait_for(http, account.key, fresh["id"].str())["status"].str() == "completed");
  REQUIRE(eventually([&] {
    auto job = json::parse(http.get("/v2/jobs/" + old["id"].str(), account.key).body);
    return job["download_url"].is_null();
  }));
  auto expired = json::parse(http.get("/v2/jobs/" + old["id"].str(), account.key).body);
  CHECK(expired["status"].str() == "completed");
  CHECK_FALSE(expired["expired_at"].str().empty());
  vault = json::parse(http.get("/v2/vault", account.key).body);
  REQUIRE(vault["assets"].size() == 2);
  CHECK(vault["/assets/0/job_id"].str() == fresh["id"].str());  // newest first
  CHECK(vault["/assets/0/expired"].boolean() == false);
  CHECK(vault["/assets/1/expired"].boolean());
  CHECK(vault["/assets/1/download_url"].is_null());
  auto kept = http.get(vault["/assets/0/download_url"].str().substr(
    vault["/assets/0/download_url"].str().find("/v1/")));
  CHECK(kept.status == 200);
}

TEST_CASE("MercaDream: opt-in progress webhooks at each quarter of a run, signed like the rest",
          "[e2e][mercadream][webhooks]") {
  webhook_listener listener({});
  test_server server(R"([{"id":"sim-0","executor":"sim","slots":2,"latency_ms":1200}])",
                     plans + R"(,"frontends":{"mercadream":{"progress_webhooks":true}})");
  auto& http = server.http();
  auto account = create_account(http, "pro", 1000);
  auto made =
    post(http, "/v2/music", account.key,
         R"({"prompt":"slow build","duration":15,"webhook_url":")" + listener.base_url() + R"("})");
  REQUIRE(made.status == 201);
  REQUIRE(eventually([&] {
    for (const auto& r : listener.requests())
      if (json::parse(r.body)["event"].str() == "job.completed") return true;
    return false;
  }));
  std::vector<std::int64_t> quarters;
  for (const auto& request : listener.requests()) {
    auto event = json::parse(request.body);
    CHECK(signature_verifies(account.webhook_secret, request.body));
    if (event["event"].str() != "job.progress") continue;
    CHECK(event["status"].str() == "processing");
    quarters.push_back(event["progress"].integer());
  }
  std::sort(quarters.begin(), quarters.end());  // attempts run concurrently; order may vary
  CHECK(quarters == std::vector<std::int64_t>{25, 50, 75});
}
