// agent.media's actor library and "ma_" keys on the real binary: the list and each filter, one
// actor, the 404 with close slugs, a portrait fetched from its URL and decoded as a real PNG, the
// create's actor check and voice; keys made, used on agent.media's and the core's routes,
// listed without the secret, revoked, and refused past the limit.
#include "tests/support/e2e.hpp"
#include "tests/support/media_probe.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <regex>

using namespace kiln::test;

namespace {

void check_error(const http_response& answer, int status, const std::string& code,
                 const std::string& type) {
  INFO(answer.body);
  CHECK(answer.status == status);
  auto error = json::parse(answer.body)["error"];
  CHECK(error["code"].str() == code);
  CHECK(error["type"].str() == type);
  CHECK_FALSE(error["message"].str().empty());
}

/// GET /api/v1/actors with `query`; checks total matches the list and returns the list.
json list_actors(http_client& http, const std::string& key, const std::string& query = {}) {
  auto answer = http.get("/api/v1/actors" + query, key);
  INFO(query << ": " << answer.body);
  REQUIRE(answer.status == 200);
  auto body = json::parse(answer.body);
  CHECK(body["total"].integer() == static_cast<std::int64_t>(body["actors"].size()));
  return body;
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

http_response create_key(http_client& http, const std::string& key, const std::string& body) {
  return http.request("POST", "/api/v1/account/keys", body,
                      {{"Authorization", "Bearer " + key}, {"Content-Type", "application/json"}});
}

}  // namespace

TEST_CASE("agent.media lists its actors with filters and serves each portrait as a real PNG",
          "[e2e][agent_media]") {
  test_server server;
  auto& http = server.http();
  auto account = create_account(http, "pro", 1000);

  auto all = list_actors(http, account.key);
  auto total = all["total"].integer();
  CHECK(total >= 12);
  bool found_emma = false;
  for (std::size_t i = 0; i < all["actors"].size(); ++i) {
    auto a = all["actors"][i];
    CHECK(a.keys() == std::vector<std::string>{"id", "name", "slug", "gender", "age_range",
                                               "actor_type", "portrait_url", "voice_id", "status"});
    found_emma = found_emma || a["slug"].str() == "emma";
  }
  CHECK(found_emma);

  struct filter {
    std::string query, field, value;
  };
  for (const auto& f :
       std::vector<filter>{{"?gender=female", "gender", "female"},
                           {"?gender=MALE", "gender", "male"},
                           {"?age_range=26-35", "age_range", "26-35"},
                           {"?actor_type=Young%20Adult", "actor_type", "Young Adult"},
                           {"?actor_type=young+adult", "actor_type", "Young Adult"}}) {
    auto some = list_actors(http, account.key, f.query);
    INFO(f.query);
    CHECK(some["total"].integer() > 0);
    CHECK(some["total"].integer() < total);
    for (std::size_t i = 0; i < some["actors"].size(); ++i)
      CHECK(some["actors"][i][f.field].str() == f.value);
  }
  auto searched = list_actors(http, account.key, "?search=EM");
  CHECK(searched["total"].integer() >= 2);
  for (std::size_t i = 0; i < searched["actors"].size(); ++i)
    CHECK(lower(searched["actors"][i]["name"].str()).find("em") != std::string::npos);
  auto both = list_actors(http, account.key, "?gender=female&age_range=26-35&search=emma");
  REQUIRE(both["total"].integer() == 1);
  CHECK(both["/actors/0/slug"].str() == "emma");
  CHECK(list_actors(http, account.key, "?search=nobody-by-this-name")["total"].integer() == 0);
  check_error(http.get("/api/v1/actors"), 401, "missing_api_key", "authentication_error");

  auto one = http.get("/api/v1/actors/emma", account.key);
  REQUIRE(one.status == 200);
  auto emma = json::parse(one.body)["actor"];
  CHECK(emma["name"].str() == "Emma");
  CHECK(emma["gender"].str() == "female");
  CHECK(emma["age_range"].str() == "26-35");
  CHECK(emma["actor_type"].str() == "Young Adult");
  CHECK(emma["voice_id"].str() == "EXAVITQu4vr4xnSDxMaL");
  CHECK(emma["status"].str() == "active");
  auto missing = http.get("/api/v1/actors/emmma", account.key);
  check_error(missing, 404, "actor_not_found", "not_found");
  auto suggestions = json::parse(missing.body)["/error/suggestions"];
  REQUIRE(suggestions.size() >= 1);
  CHECK(suggestions.size() <= 3);
  CHECK(suggestions[0].str() == "emma");

  // The portrait URL points at this server, on the host the client reached; no key needed.
  auto url = emma["portrait_url"].str();
  auto base = "http://127.0.0.1:" + std::to_string(http.port());
  REQUIRE(url == base + "/api/v1/actors/emma/portrait.png");
  auto portrait = http.get(url.substr(base.size()));
  REQUIRE(portrait.status == 200);
  CHECK(portrait.header("content-type") == "image/png");
  REQUIRE(portrait.body.size() > 8);
  CHECK(portrait.body.substr(0, 8) == std::string("\x89PNG\r\n\x1a\n", 8));
  media_file png(portrait.body, ".png");
  auto probe = ffprobe(png);
  CHECK(probe["/streams/0/codec_name"].str() == "png");
  CHECK(probe["/streams/0/width"].integer() == 256);
  CHECK(probe["/streams/0/height"].integer() == 256);
  CHECK(ffmpeg_decode(png).output.empty());
  CHECK(http.get("/api/v1/actors/emma/portrait.png").body == portrait.body);  // cached, stable
  CHECK(http.get("/api/v1/actors/liam/portrait.png").body != portrait.body);
  check_error(http.get("/api/v1/actors/nobody/portrait.png"), 404, "actor_not_found", "not_found");
}

TEST_CASE("agent.media's create checks the actor against the library and selects its voice",
          "[e2e][agent_media]") {
  test_server server;
  auto& http = server.http();
  auto account = create_account(http, "pro", 1000);
  auto create = [&](const std::string& body) {
    return http.request(
      "POST", "/api/v1/videos", body,
      {{"Authorization", "Bearer " + account.key}, {"Content-Type", "application/json"}});
  };
  check_error(create(R"({"prompt":"why founders wake early","actor_slug":"nobody"})"), 400,
              "actor_not_found", "validation_error");
  auto created = create(R"({"prompt":"why founders wake early","actor_slug":"emma"})");
  INFO(created.body);
  REQUIRE(created.status == 201);
  auto answer = json::parse(created.body);
  CHECK(answer["selected_voice"].str() == "EXAVITQu4vr4xnSDxMaL");
  CHECK(answer["voice_auto_detected"].boolean() == false);
  auto plain = json::parse(create(R"({"prompt":"why founders wake early"})").body);
  CHECK_FALSE(plain.has("selected_voice"));
  auto balance = json::parse(http.get("/v1/balance", account.key).body);
  CHECK(balance["held"].integer() + balance["used"].integer() == 2 * 305);  // none for refusals
}

TEST_CASE("agent.media's ma_ keys work on every route, list without the secret and revoke",
          "[e2e][agent_media]") {
  test_server server;
  auto& http = server.http();
  auto account = create_account(http, "pro", 1000);

  auto made = create_key(http, account.key, R"({"name":"Production Key"})");
  INFO(made.body);
  REQUIRE(made.status == 201);
  auto key = json::parse(made.body);
  CHECK(key.keys() == std::vector<std::string>{"key", "id", "key_prefix", "name", "created_at"});
  auto secret = key["key"].str();
  CHECK(std::regex_match(secret, std::regex("ma_[0-9a-f]{32}")));
  CHECK(key["key_prefix"].str() == secret.substr(0, 11));
  CHECK(key["name"].str() == "Production Key");
  CHECK(std::regex_match(key["created_at"].str(),
                         std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")));
  auto id = key["id"].str();

  // The new key on agent.media's routes and the core's.
  auto video =
    http.request("POST", "/api/v1/videos", R"({"prompt":"why founders wake early"})",
                 {{"Authorization", "Bearer " + secret}, {"Content-Type", "application/json"}});
  REQUIRE(video.status == 201);
  auto job_id = json::parse(video.body)["job_id"].str();
  CHECK(http.get("/api/v1/videos/" + job_id, secret).status == 200);
  CHECK(http.get("/v1/balance", secret).status == 200);
  CHECK(http.get("/api/v1/actors/emma", secret).status == 200);

  auto unnamed = http.request("POST", "/api/v1/account/keys", {}, {bearer(secret)});
  INFO(unnamed.body);
  REQUIRE(unnamed.status == 201);
  CHECK(json::parse(unnamed.body)["name"].str() == "Default");

  auto listed = http.get("/api/v1/account/keys", secret);
  REQUIRE(listed.status == 200);
  CHECK(listed.body.find(secret) == std::string::npos);
  auto keys = json::parse(listed.body)["keys"];
  CHECK(keys.size() == 3);  // the account's first key and these two
  bool listed_key = false;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    CHECK(keys[i].keys() ==
          std::vector<std::string>{"id", "key_prefix", "name", "created_at", "last_used_at"});
    if (keys[i]["id"].str() != id) continue;
    listed_key = true;
    CHECK(keys[i]["key_prefix"].str() == secret.substr(0, 11));
    CHECK(keys[i]["name"].str() == "Production Key");
  }
  CHECK(listed_key);

  auto revoked = http.del("/api/v1/account/keys/" + id, account.key);
  INFO(revoked.body);
  REQUIRE(revoked.status == 200);
  CHECK(json::parse(revoked.body)["revoked"].boolean());
  CHECK(json::parse(revoked.body)["id"].str() == id);
  CHECK(http.get("/v1/balance", secret).status == 401);
  check_error(http.get("/api/v1/videos/" + job_id, secret), 401, "invalid_api_key",
              "authentication_error");
  check_error(http.del("/api/v1/account/keys/" + id, account.key), 404, "key_not_found",
              "not_found");
  check_error(http.del("/api/v1/account/keys/key_nope", account.key), 404, "key_not_found",
              "not_found");
}

TEST_CASE("agent.media refuses a key name over 100 characters and a 26th active key",
          "[e2e][agent_media]") {
  test_server server;
  auto& http = server.http();
  auto account = create_account(http, "pro", 1000);
  check_error(create_key(http, account.key, R"({"name":")" + std::string(101, 'n') + R"("})"), 400,
              "invalid_name", "validation_error");
  check_error(create_key(http, account.key, R"({"name":7})"), 400, "invalid_name",
              "validation_error");
  check_error(create_key(http, account.key, R"({"label":"x"})"), 400, "unknown_field",
              "validation_error");
  check_error(create_key(http, account.key, "{oops"), 400, "invalid_json", "validation_error");
  check_error(
    http.request("POST", "/api/v1/account/keys", "{}", {{"Content-Type", "application/json"}}), 401,
    "missing_api_key", "authentication_error");
  // A name of exactly 100 characters is taken; with the account's first key that is 2 of 25.
  auto longest = create_key(http, account.key, R"({"name":")" + std::string(100, 'n') + R"("})");
  REQUIRE(longest.status == 201);
  for (int active = 2; active < 25; ++active) {
    auto made = create_key(http, account.key, R"({"name":"key )" + std::to_string(active) + "\"}");
    INFO(active << ": " << made.body);
    REQUIRE(made.status == 201);
  }
  CHECK(json::parse(http.get("/api/v1/account/keys", account.key).body)["keys"].size() == 25);
  check_error(create_key(http, account.key, R"({"name":"one too many"})"), 400, "key_limit_reached",
              "validation_error");
}
