// agent.media's quick start on the real binary, written from the seed alone: create a video from
// a script, poll every few seconds until completed, fetch output_url (a real video), cancel, and
// errors in its envelope; the job is the same job under the core API.
#include "tests/support/e2e.hpp"
#include "tests/support/media_probe.hpp"

#include <catch2/catch.hpp>

using namespace kiln::test;

namespace {

const std::string quickstart_script =
  "Ever wonder why top founders wake up at 5am? It is not about the alarm clock. It is about "
  "the mindset.";

http_response create_video(http_client& http, const std::string& key, const std::string& body) {
  return http.request("POST", "/api/v1/videos", body,
                      {{"Authorization", "Bearer " + key}, {"Content-Type", "application/json"}});
}

void check_error(const http_response& answer, int status, const std::string& code,
                 const std::string& type) {
  INFO(answer.body);
  CHECK(answer.status == status);
  auto error = json::parse(answer.body)["error"];
  CHECK(error["code"].str() == code);
  CHECK(error["type"].str() == type);
  CHECK_FALSE(error["message"].str().empty());
}

}  // namespace

TEST_CASE("agent.media's quick start: a video from a script, polled until completed",
          "[e2e][agent_media]") {
  test_server server(builtin_devices);
  auto& http = server.http();
  auto account = create_account(http, "pro", 1000);
  auto created = create_video(
    http, account.key,
    R"({"script":")" + quickstart_script + R"(","actor_slug":"emma","style":"hormozi"})");
  INFO(created.body);
  REQUIRE(created.status == 201);
  auto answer = json::parse(created.body);
  CHECK(answer["status"].str() == "submitted");
  CHECK(answer["word_count"].integer() == 21);
  CHECK(answer["estimated_duration"].integer() == 10);  // 21 words do not fit 5 s
  CHECK(answer["credits_deducted"].integer() == 300);
  CHECK(answer["max_words"].integer() == 25);
  auto id = answer["job_id"].str();

  json video = json::parse("{}");
  REQUIRE(eventually(
    [&] {
      auto polled = http.get("/api/v1/videos/" + id, account.key);
      video = json::parse(polled.body);
      if (video["status"].str() != "completed") CHECK(polled.header("retry-after") == "5");
      return video["status"].str() == "completed";
    },
    std::chrono::seconds(60)));
  CHECK(video["credit_cost"].integer() == 300);
  CHECK(video["operation"].str() == "ugc_video");
  auto url = video["output_url"].str();
  auto file = http.get(url.substr(url.find("/v1/files/")));
  REQUIRE(file.status == 200);
  media_file webm(file.body, ".webm");
  auto probe = ffprobe(webm);
  CHECK(probe["/streams/0/codec_name"].str() == "vp9");
  CHECK(probe["/format/duration"].str() == "10.000000");
  // The same job under the core API, with agent.media's fields as the model's options.
  auto core = json::parse(http.get("/v1/jobs/" + id, account.key).body);
  CHECK(core["model"].str() == "ugc-basic");
  CHECK(core["/options/actor_slug"].str() == "emma");
  CHECK(core["/options/generate_script"].boolean() == false);
  auto balance = json::parse(http.get("/v1/balance", account.key).body);
  CHECK(balance["used"].integer() == 300);
  CHECK(balance["granted"].integer() ==
        balance["available"].integer() + balance["held"].integer() + balance["used"].integer());
}

TEST_CASE("agent.media cancels with a refund and answers errors in its envelope",
          "[e2e][agent_media]") {
  test_server server(R"([{"id":"slow","executor":"sim","slots":1,"latency_ms":20000}])");
  auto& http = server.http();
  auto account = create_account(http, "pro", 1000);
  // A prompt writes the script: +5 credits; 5 s asked.
  auto created =
    create_video(http, account.key, R"({"prompt":"why founders wake early","target_duration":5})");
  REQUIRE(created.status == 201);
  auto id = json::parse(created.body)["job_id"].str();
  CHECK(json::parse(created.body)["credits_deducted"].integer() == 155);
  auto canceled = http.request("POST", "/api/v1/videos/" + id + "/cancel", {},
                               {{"Authorization", "Bearer " + account.key}});
  INFO(canceled.body);
  REQUIRE(canceled.status == 200);
  auto done = json::parse(canceled.body);
  CHECK(done["canceled"].boolean());
  CHECK(done["jobId"].str() == id);
  CHECK(done["credits_refunded"].integer() == 155);
  CHECK(json::parse(http.get("/v1/balance", account.key).body)["available"].integer() == 1000);
  check_error(http.request("POST", "/api/v1/videos/" + id + "/cancel", {},
                           {{"Authorization", "Bearer " + account.key}}),
              400, "cannot_cancel", "validation_error");

  check_error(create_video(http, account.key, R"({"style":"hormozi"})"), 400, "missing_script",
              "validation_error");
  check_error(
    create_video(http, account.key, R"({"prompt":"p","cta":")" + std::string(101, 'x') + R"("})"),
    400, "cta_too_long", "validation_error");
  check_error(create_video(http, account.key, "{oops"), 400, "invalid_json", "validation_error");
  check_error(http.request("POST", "/api/v1/videos", "{}", {{"Content-Type", "application/json"}}),
              401, "missing_api_key", "authentication_error");
  check_error(create_video(http, "ma_wrong", R"({"prompt":"p"})"), 401, "invalid_api_key",
              "authentication_error");
  check_error(http.get("/api/v1/videos/job_nope", account.key), 404, "job_not_found", "not_found");
  auto poor = create_account(http, "pro", 10);
  check_error(create_video(http, poor.key, R"({"prompt":"p"})"), 402, "insufficient_credits",
              "insufficient_credits");
  auto free = create_account(http, "free", 1000);  // ugc-basic needs starter
  check_error(create_video(http, free.key, R"({"prompt":"p"})"), 403, "plan_required",
              "authentication_error");
}
