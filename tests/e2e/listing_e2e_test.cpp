// GET /v1/jobs: newest first, cursor pages, status filters and parameter errors.
#include "tests/support/e2e.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

using namespace kiln::test;

namespace {

/// The device serves flux2-turbo only, so seedream jobs stay queued: a stable mix of statuses.
const std::string flux_only_devices =
  R"([{"id":"sim-0","executor":"sim","slots":4,"latency_ms":0,"models":["flux2-turbo"]}])";

std::vector<std::string> ids_of(const json& page) {
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < page["data"].size(); ++i) ids.push_back(page["data"][i]["id"].str());
  return ids;
}

}  // namespace

TEST_CASE("Listing pages through 25 jobs newest first with a cursor and filters by status",
          "[e2e]") {
  test_server server(flux_only_devices);
  auto& http = server.http();
  auto account = create_account(http);
  auto other = create_account(http, "pro", 1000, "neighbour");
  submit_job(http, other.key, image_job_body("not yours"));

  std::vector<std::string> submitted, runnable, stuck;
  for (int i = 0; i < 25; ++i) {
    bool runs = i % 2 == 0;  // 13 on flux2-turbo, 12 on seedream
    auto id =
      submit_job(http, account.key,
                 R"({"type":"image","model":")" + std::string(runs ? "flux2-turbo" : "seedream") +
                   R"(","prompt":"job )" + std::to_string(i) + R"("})");
    submitted.push_back(id);
    (runs ? runnable : stuck).push_back(id);
  }
  REQUIRE(eventually([&] {
    auto page = json::parse(http.get("/v1/jobs?status=succeeded&limit=100", account.key).body);
    return page["data"].size() == runnable.size();
  }));

  std::vector<std::string> newest_first(submitted.rbegin(), submitted.rend());
  std::vector<std::string> seen;
  std::string cursor;
  for (int page_number = 0; page_number < 3; ++page_number) {
    std::string target = "/v1/jobs?limit=10" + (cursor.empty() ? "" : "&cursor=" + cursor);
    auto response = http.get(target, account.key);
    REQUIRE(response.status == 200);
    auto page = json::parse(response.body);
    auto ids = ids_of(page);
    seen.insert(seen.end(), ids.begin(), ids.end());
    if (page_number < 2) {
      CHECK(ids.size() == 10);
      CHECK(page["has_more"].boolean());
      REQUIRE_FALSE(page["next_cursor"].is_null());
      cursor = page["next_cursor"].str();
    } else {
      CHECK(ids.size() == 5);
      CHECK_FALSE(page["has_more"].boolean());
      CHECK(page["next_cursor"].is_null());
    }
  }
  CHECK(seen == newest_first);
  CHECK(std::set<std::string>(seen.begin(), seen.end()).size() == 25);

  auto all = json::parse(http.get("/v1/jobs?limit=100", account.key).body);
  CHECK(ids_of(all) == newest_first);
  CHECK_FALSE(all["has_more"].boolean());
  auto exactly = json::parse(http.get("/v1/jobs?limit=25", account.key).body);
  CHECK(exactly["data"].size() == 25);
  CHECK_FALSE(exactly["has_more"].boolean());
  auto first = json::parse(http.get("/v1/jobs", account.key).body);
  CHECK(first["data"].size() == 20);  // the default page size
  CHECK(first["has_more"].boolean());

  auto succeeded = json::parse(http.get("/v1/jobs?status=succeeded&limit=100", account.key).body);
  std::vector<std::string> runnable_newest(runnable.rbegin(), runnable.rend());
  CHECK(ids_of(succeeded) == runnable_newest);
  for (std::size_t i = 0; i < succeeded["data"].size(); ++i)
    CHECK(succeeded["data"][i]["status"].str() == "succeeded");

  auto queued = json::parse(http.get("/v1/jobs?status=queued&limit=5", account.key).body);
  std::vector<std::string> stuck_newest(stuck.rbegin(), stuck.rend());
  CHECK(ids_of(queued) == std::vector<std::string>(stuck_newest.begin(), stuck_newest.begin() + 5));
  CHECK(queued["has_more"].boolean());
  auto queued_rest = json::parse(
    http.get("/v1/jobs?status=queued&limit=100&cursor=" + queued["next_cursor"].str(), account.key)
      .body);
  CHECK(ids_of(queued_rest) ==
        std::vector<std::string>(stuck_newest.begin() + 5, stuck_newest.end()));
  CHECK(json::parse(http.get("/v1/jobs?status=failed", account.key).body)["data"].size() == 0);
  // Other APIs' spellings of a status filter: "completed" and "cancelled".
  CHECK(
    json::parse(http.get("/v1/jobs?status=completed&limit=100", account.key).body)["data"].size() ==
    succeeded["data"].size());
  CHECK(http.get("/v1/jobs?status=cancelled", account.key).status == 200);

  // A queued job says where it stands and when to ask again.
  auto waiting = http.get("/v1/jobs/" + stuck.front(), account.key);
  CHECK(json::parse(waiting.body)["status"].str() == "queued");
  CHECK(json::parse(waiting.body)["queue_position"].integer() >= 1);
  CHECK_FALSE(waiting.header("retry-after").empty());
  auto finished = http.get("/v1/jobs/" + runnable.front(), account.key);
  CHECK(finished.header("retry-after").empty());
  CHECK_FALSE(json::parse(finished.body).has("queue_position"));

  // Accounts never see each other's jobs.
  CHECK(json::parse(http.get("/v1/jobs?limit=100", other.key).body)["data"].size() == 1);
  CHECK(http.get("/v1/jobs/" + submitted.front(), other.key).status == 404);
}

TEST_CASE("Listing refuses out-of-range limits, unknown statuses and malformed cursors", "[e2e]") {
  test_server server;
  auto& http = server.http();
  auto account = create_account(http);

  struct bad {
    const char* query;
    const char* field;
  };
  for (auto [query, field] :
       {bad{"limit=0", "limit"}, bad{"limit=101", "limit"}, bad{"limit=-1", "limit"},
        bad{"limit=ten", "limit"}, bad{"limit=", "limit"}, bad{"status=bogus", "status"},
        bad{"status=SUCCEEDED", "status"}, bad{"cursor=zz", "cursor"}}) {
    INFO(query);
    auto response = http.get(std::string("/v1/jobs?") + query, account.key);
    CHECK(response.status == 400);
    auto error = json::parse(response.body)["error"];
    CHECK(error["code"].str() == "invalid_request");
    CHECK(error["/details/field"].str() == field);
  }
  CHECK(http.get("/v1/jobs?limit=1", account.key).status == 200);
  CHECK(http.get("/v1/jobs?limit=100", account.key).status == 200);
}
