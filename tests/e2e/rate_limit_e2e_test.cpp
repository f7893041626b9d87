// Rate limits on the real binary: each account's token bucket sized by its plan and shared by its
// keys, the X-RateLimit-* headers on every authenticated answer, and 429 rate_limited with
// Retry-After when it is empty.
#include "tests/support/e2e.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace kiln::test;

TEST_CASE(
  "An account over its plan's requests per minute gets 429 with Retry-After and another "
  "account does not",
  "[e2e][rate_limit]") {
  test_server server(
    sim_devices,
    R"("plans":[{"name":"free","rank":0,"requests_per_minute":6,"max_concurrent_jobs":1},)"
    R"({"name":"pro","rank":2,"requests_per_minute":600,"max_concurrent_jobs":8}])");
  auto& http = server.http();
  auto slow = create_account(http, "free", 100);
  auto fast = create_account(http, "pro", 100);

  auto first = http.get("/v1/balance", slow.key);
  REQUIRE(first.status == 200);
  CHECK(first.header("x-ratelimit-limit") == "6");
  CHECK(first.header("x-ratelimit-remaining") == "5");
  CHECK(std::stoi(first.header("x-ratelimit-reset")) >= 1);
  for (int i = 0; i < 5; ++i) REQUIRE(http.get("/v1/balance", slow.key).status == 200);

  auto refused = http.post("/v1/jobs", image_job_body(), slow.key);
  CHECK(refused.status == 429);
  CHECK(json::parse(refused.body)["/error/code"].str() == "rate_limited");
  CHECK(refused.header("x-ratelimit-remaining") == "0");
  auto retry_after = std::stoi(refused.header("retry-after"));
  CHECK(retry_after >= 1);
  CHECK(retry_after <= 10);                             // one token per 10 s at 6 per minute
  CHECK(http.get("/v1/jobs", fast.key).status == 200);  // another account has its own bucket
  // The refused request held and created nothing.
  auto account =
    json::parse(http.request("GET", "/admin/v1/accounts/" + slow.id, {}, admin_headers()).body);
  CHECK(account["/balance/available"].integer() == 100);
  CHECK(account["/balance/held"].integer() == 0);

  auto other = http.get("/v1/balance", fast.key);
  CHECK(other.status == 200);
  CHECK(other.header("x-ratelimit-limit") == "600");
  // Unauthenticated and admin answers carry no budget.
  CHECK_FALSE(http.get("/v1/models").has_header("x-ratelimit-limit"));
}

// Regression (issue "Durability and the contract's loose ends", finding 13): buckets were per
// key, so an account with 25 keys had 25 times its plan's rate.
TEST_CASE("All the keys of an account share its one bucket", "[e2e][rate_limit]") {
  test_server server(
    sim_devices,
    R"("plans":[{"name":"free","rank":0,"requests_per_minute":6,"max_concurrent_jobs":1}])");
  auto& http = server.http();
  auto account = create_account(http, "free", 100);
  auto created = http.post("/v1/keys", R"({"name":"second"})", account.key);
  REQUIRE(created.status == 201);
  auto second = json::parse(created.body)["key"].str();
  for (int i = 0; i < 4; ++i) REQUIRE(http.get("/v1/balance", account.key).status == 200);
  auto last = http.get("/v1/balance", second);
  REQUIRE(last.status == 200);
  CHECK(last.header("x-ratelimit-remaining") == "0");  // six taken: one create, five reads
  auto refused = http.get("/v1/balance", second);
  CHECK(refused.status == 429);
  CHECK(http.get("/v1/balance", account.key).status == 429);
}
