// Killa Tamata's device-link key flow (seed 001) on the real binary: a tool starts a link without a
// key, the user approves it with their key, the tool polls and receives a new key of the
// approver's account exactly once; the refusals in Killa's envelope; the core's key limit; and
// concurrent approvals that leave no key behind. Expiry is covered by the actor's unit tests.
#include "tests/support/e2e.hpp"
#include "tests/support/killa.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <regex>
#include <string>
#include <thread>
#include <vector>

using namespace kiln::test;

namespace {

const std::string start_path = "/api/v1/device/link/start";
const std::string approve_path = "/api/v1/device/link/approve";
const std::string poll_path = "/api/v1/device/link/poll";

/// The path and query of an absolute URL.
std::string path_of(const std::string& url) {
  return url.substr(url.find('/', url.find("//") + 2));
}

std::size_t active_keys(http_client& http, const std::string& key) {
  auto listed = http.get("/v1/keys", key);
  REQUIRE(listed.status == 200);
  return json::parse(listed.body)["data"].size();
}

json started(http_client& http, const std::string& body = R"({"keyLabel":"Laptop agent"})") {
  auto answer = http.post(start_path, body);
  INFO(answer.body);
  REQUIRE(answer.status == 200);
  return json::parse(answer.body);
}

}  // namespace

TEST_CASE(
  "Device link: a tool starts without a key, the user approves with theirs, the tool gets a new "
  "key of the same account once",
  "[e2e][killa][device_link]") {
  test_server server;
  auto& http = server.http();
  auto account = create_account(http, "pro", 100);
  REQUIRE(active_keys(http, account.key) == 1);

  // The tool: no key.
  auto link = started(http);
  CHECK(link["ok"].boolean());
  auto device_code = link["deviceCode"].str();
  auto user_code = link["userCode"].str();
  CHECK(std::regex_match(device_code, std::regex("ktd_[0-9a-f]{32}")));
  CHECK(std::regex_match(user_code, std::regex("[B-Z]{4}-[B-Z]{4}")));
  CHECK(link["verificationUri"].str() == "http://127.0.0.1:" + std::to_string(http.port()) +
                                           "/api/v1/device/link/request?userCode=" + user_code);
  CHECK(link["keyLabel"].str() == "Laptop agent");
  CHECK(link["expiresIn"].integer() == 600);
  CHECK(link["interval"].integer() == 5);

  // The user looks the code up: pending, with the label, never a key.
  auto looked_up = http.get(path_of(link["verificationUri"].str()));
  INFO(looked_up.body);
  REQUIRE(looked_up.status == 200);
  auto view = json::parse(looked_up.body);
  CHECK(view["status"].str() == "pending");
  CHECK(view["userCode"].str() == user_code);
  CHECK(view["keyLabel"].str() == "Laptop agent");
  CHECK_FALSE(view.has("apiKey"));
  auto poll_body = R"({"deviceCode":")" + device_code + R"("})";
  auto pending = http.post(poll_path, poll_body);
  REQUIRE(pending.status == 200);
  CHECK(json::parse(pending.body)["status"].str() == "pending");
  CHECK_FALSE(json::parse(pending.body).has("apiKey"));

  // Approval needs a key, and a code that exists.
  auto approve_body = R"({"userCode":")" + user_code + R"("})";
  auto anonymous = http.post(approve_path, approve_body);
  check_killa_error(anonymous, 401, "unauthorized");
  check_killa_error(http.post(approve_path, R"({"userCode":"BCDF-GHJK"})", account.key), 404,
                    "not_found", "userCode");
  check_killa_error(http.post(approve_path, "{}", account.key), 400, "invalid_request", "userCode");
  CHECK(active_keys(http, account.key) == 1);  // no refusal minted a key

  auto approved = http.post(approve_path, approve_body, account.key);
  INFO(approved.body);
  REQUIRE(approved.status == 200);
  auto approval = json::parse(approved.body);
  CHECK(approval["ok"].boolean());
  CHECK(approval["status"].str() == "approved");
  CHECK(approval["keyLabel"].str() == "Laptop agent");
  CHECK_FALSE(approval.has("apiKey"));  // the key goes to the tool only
  CHECK(active_keys(http, account.key) == 2);
  check_killa_error(http.post(approve_path, approve_body, account.key), 409, "already_approved",
                    "userCode");
  CHECK(active_keys(http, account.key) == 2);

  // The tool's next poll gets the key, once.
  auto handed = http.post(poll_path, poll_body);
  INFO(handed.body);
  REQUIRE(handed.status == 200);
  CHECK(handed.header("cache-control") == "no-store");
  auto claim = json::parse(handed.body);
  CHECK(claim["ok"].boolean());
  CHECK(claim["status"].str() == "approved");
  auto new_key = claim["apiKey"].str();
  CHECK(new_key.rfind("kiln_sk_", 0) == 0);
  CHECK(new_key != account.key);
  CHECK(new_key.rfind(claim["keyPrefix"].str(), 0) == 0);
  CHECK(claim["keyPrefix"].str() == approval["keyPrefix"].str());
  CHECK(claim["keyLabel"].str() == "Laptop agent");
  check_killa_error(http.post(poll_path, poll_body), 410, "already_claimed", "deviceCode");
  auto after = json::parse(http.get(path_of(link["verificationUri"].str())).body);
  CHECK(after["status"].str() == "claimed");

  // The new key works, on the approver's account.
  auto balance =
    http.request("GET", "/api/v1/balance", {}, {{"Authorization", "Bearer " + new_key}});
  INFO(balance.body);
  REQUIRE(balance.status == 200);
  auto mine = json::parse(
    http.request("GET", "/api/v1/balance", {}, {{"Authorization", "Bearer " + account.key}}).body);
  CHECK(json::parse(balance.body)["usdMicros"].integer() == mine["usdMicros"].integer());
  auto own = json::parse(http.get("/v1/account", new_key).body);
  auto approver = json::parse(http.get("/v1/account", account.key).body);
  CHECK(own["id"].str() == approver["id"].str());
  bool listed = false;
  for (std::size_t i = 0; i < 2; ++i) {
    auto k = json::parse(http.get("/v1/keys", account.key).body)["data"][i];
    listed = listed ||
             (k["name"].str() == "Laptop agent" && k["prefix"].str() == claim["keyPrefix"].str());
  }
  CHECK(listed);

  // Unknown device codes.
  check_killa_error(
    http.post(poll_path, R"({"deviceCode":"ktd_00000000000000000000000000000000"})"), 404,
    "not_found", "deviceCode");
  check_killa_error(http.post(poll_path, "{}"), 400, "invalid_request", "deviceCode");
}

TEST_CASE("Device link: labels, the approver's label, and malformed starts",
          "[e2e][killa][device_link]") {
  test_server server;
  auto& http = server.http();
  auto account = create_account(http, "pro", 100);

  // No body: the default label; the approver may name the key instead.
  auto plain = http.request("POST", start_path);
  INFO(plain.body);
  REQUIRE(plain.status == 200);
  auto link = json::parse(plain.body);
  CHECK(link["keyLabel"].str() == "Device link key");
  auto approved = http.post(
    approve_path, R"({"userCode":")" + link["userCode"].str() + R"(","keyLabel":"CI runner"})",
    account.key);
  REQUIRE(approved.status == 200);
  auto claim = json::parse(
    http.post(poll_path, R"({"deviceCode":")" + link["deviceCode"].str() + R"("})").body);
  CHECK(claim["keyLabel"].str() == "CI runner");

  check_killa_error(http.post(start_path, R"({"keyLabel":42})"), 400, "invalid_request",
                    "keyLabel");
  check_killa_error(http.post(start_path, R"({"keyLabel":")" + std::string(201, 'x') + R"("})"),
                    400, "invalid_request", "keyLabel");
  check_killa_error(http.post(start_path, "[1]"), 400, "invalid_json");
  check_killa_error(
    http.request("POST", start_path, "keyLabel=x", {{"Content-Type", "text/plain"}}), 415,
    "unsupported_media_type");
  check_killa_error(http.request("GET", "/api/v1/device/link/request"), 400, "invalid_request",
                    "userCode");
  check_killa_error(http.request("GET", "/api/v1/device/link/request?userCode=BCDF-GHJK"), 404,
                    "not_found", "userCode");
}

TEST_CASE("Device link: an account at its key limit gets the core's 409 and the link waits",
          "[e2e][killa][device_link]") {
  test_server server;
  auto& http = server.http();
  auto account = create_account(http, "pro", 100);
  for (int i = 1; i < 25; ++i)
    REQUIRE(http.post("/v1/keys", R"({"name":"k"})", account.key).status == 201);
  auto link = started(http);
  auto user_code = link["userCode"].str();
  check_killa_error(http.post(approve_path, R"({"userCode":")" + user_code + R"("})", account.key),
                    409, "key_limit");
  auto view = json::parse(http.get("/api/v1/device/link/request?userCode=" + user_code).body);
  CHECK(view["status"].str() == "pending");

  // Room made, the same link is approved.
  auto keys = json::parse(http.get("/v1/keys", account.key).body)["data"];
  std::string spare;
  for (std::size_t i = 0; i < keys.size() && spare.empty(); ++i)
    if (keys[i]["name"].str() == "k") spare = keys[i]["id"].str();
  REQUIRE(http.del("/v1/keys/" + spare, account.key).status == 200);
  CHECK(http.post(approve_path, R"({"userCode":")" + user_code + R"("})", account.key).status ==
        200);
}

TEST_CASE("Device link: concurrent approvals of one code: one wins, no other key stays",
          "[e2e][killa][device_link]") {
  test_server server;
  auto& http = server.http();
  auto account = create_account(http, "pro", 100);
  for (int round = 0; round < 3; ++round) {
    auto link = started(http);
    auto body = R"({"userCode":")" + link["userCode"].str() + R"("})";
    std::atomic<int> ok{0}, refused{0}, other{0};
    std::vector<std::thread> approvers;
    for (int i = 0; i < 4; ++i)
      approvers.emplace_back([&] {
        http_client mine(http.port());
        auto answer = mine.post(approve_path, body, account.key);
        (answer.status == 200 ? ok : answer.status == 409 ? refused : other) += 1;
      });
    for (auto& t : approvers) t.join();
    CHECK(ok == 1);
    CHECK(refused == 3);
    CHECK(other == 0);
    CHECK(active_keys(http, account.key) == static_cast<std::size_t>(2 + round));
    auto claim = json::parse(
      http.post(poll_path, R"({"deviceCode":")" + link["deviceCode"].str() + R"("})").body);
    REQUIRE(claim["status"].str() == "approved");
    CHECK(http.get("/v1/balance", claim["apiKey"].str()).status == 200);
  }
}
