// API keys: created once in full, listed without the secret, revoked at once, 25 at most.
#include "tests/support/e2e.hpp"

#include <catch2/catch.hpp>

using namespace kiln::test;

TEST_CASE(
  "A created key is shown once, listed by prefix only, works, and stops working as soon "
  "as it is revoked",
  "[e2e]") {
  test_server server;
  auto& http = server.http();
  auto account = create_account(http);

  auto created = http.post("/v1/keys", R"({"name":"ci runner"})", account.key);
  REQUIRE(created.status == 201);
  auto key = json::parse(created.body);
  auto key_id = key["id"].str();
  auto secret = key["key"].str();
  CHECK(key_id.rfind("key_", 0) == 0);
  CHECK(secret.rfind("kiln_sk_", 0) == 0);
  CHECK(secret != account.key);
  CHECK(key["name"].str() == "ci runner");
  auto prefix = key["prefix"].str();
  CHECK(prefix.size() >= 8);
  CHECK(prefix.size() < secret.size());
  CHECK(secret.rfind(prefix, 0) == 0);

  auto listed = http.get("/v1/keys", secret);
  REQUIRE(listed.status == 200);
  CHECK(listed.body.find(secret) == std::string::npos);
  CHECK(listed.body.find(account.key) == std::string::npos);
  auto keys = json::parse(listed.body)["data"];
  REQUIRE(keys.size() == 2);
  bool found = false;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    CHECK_FALSE(keys[i].has("key"));
    if (keys[i]["id"].str() == key_id) {
      found = true;
      CHECK(keys[i]["prefix"].str() == prefix);
      CHECK(keys[i]["name"].str() == "ci runner");
    }
  }
  CHECK(found);

  CHECK(http.post("/v1/jobs", image_job_body(), secret).status == 201);
  CHECK(http.request("GET", "/v1/jobs", {}, {{"x-api-key", secret}}).status == 200);

  // Another account cannot revoke it.
  auto stranger = create_account(http, "pro", 10, "stranger");
  CHECK(http.del("/v1/keys/" + key_id, stranger.key).status == 404);
  CHECK(http.get("/v1/jobs", secret).status == 200);

  auto revoked = http.del("/v1/keys/" + key_id, account.key);
  REQUIRE(revoked.status == 200);
  CHECK(json::parse(revoked.body)["deleted"].boolean());
  auto refused = http.get("/v1/jobs", secret);
  CHECK(refused.status == 401);
  CHECK(json::parse(refused.body)["/error/code"].str() == "unauthorized");
  CHECK(http.post("/v1/jobs", image_job_body(), secret).status == 401);
  CHECK(http.del("/v1/keys/" + key_id, account.key).status == 404);

  // The account's first key is untouched, and the revoked key is no longer listed.
  auto remaining = json::parse(http.get("/v1/keys", account.key).body)["data"];
  REQUIRE(remaining.size() == 1);
  CHECK(remaining[0]["id"].str() != key_id);
  auto jobs = json::parse(http.get("/v1/jobs", account.key).body);
  CHECK(jobs["data"].size() == 1);
}

TEST_CASE("An account holds at most 25 active keys and revoking one makes room", "[e2e]") {
  test_server server;
  auto& http = server.http();
  auto account = create_account(http);  // its first key counts

  std::vector<std::string> ids;
  for (int i = 0; i < 24; ++i) {
    auto created =
      http.post("/v1/keys", R"({"name":"k)" + std::to_string(i) + R"("})", account.key);
    REQUIRE(created.status == 201);
    ids.push_back(json::parse(created.body)["id"].str());
  }
  CHECK(json::parse(http.get("/v1/keys", account.key).body)["data"].size() == 25);

  auto over = http.post("/v1/keys", R"({"name":"one too many"})", account.key);
  CHECK(over.status == 409);
  CHECK(json::parse(over.body)["/error/code"].str() == "key_limit");

  REQUIRE(http.del("/v1/keys/" + ids.back(), account.key).status == 200);
  CHECK(http.post("/v1/keys", R"({"name":"replacement"})", account.key).status == 201);
  CHECK(http.post("/v1/keys", R"({"name":"again too many"})", account.key).status == 409);
}

TEST_CASE("Key creation validates its body", "[e2e]") {
  test_server server;
  auto& http = server.http();
  auto account = create_account(http);

  auto unnamed = http.post("/v1/keys", "{}", account.key);
  CHECK(unnamed.status == 201);
  CHECK(json::parse(unnamed.body)["name"].str() == "unnamed");

  auto unknown = http.post("/v1/keys", R"({"name":"x","scope":"all"})", account.key);
  CHECK(unknown.status == 400);
  CHECK(json::parse(unknown.body)["/error/details/field"].str() == "scope");
  auto empty = http.post("/v1/keys", R"({"name":""})", account.key);
  CHECK(empty.status == 400);
  CHECK(json::parse(empty.body)["/error/details/field"].str() == "name");
  CHECK(http.post("/v1/keys", "[]", account.key).status == 400);
  CHECK(http.post("/v1/keys", R"({"name":"x"})").status == 401);
  CHECK(http.post("/v1/keys", "[]").status == 401);  // the key is checked before the body
}
