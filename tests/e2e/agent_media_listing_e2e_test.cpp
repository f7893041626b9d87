// agent.media's listing and soft delete on the real binary, with hundreds of videos: offset,
// total, sort and status filters against the order the test made them in; soft delete hides a
// video from reads and lists and leaves its credits alone, a running video is refused, an admin
// restores it; the counts survive a restart. The core listing shows the same jobs and totals.
#include "tests/support/e2e.hpp"
#include "tests/support/webhook_listener.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <vector>

using namespace kiln::test;

namespace {

/// Videos take 1.5 s on the sim device: long enough to cancel or try to delete one that runs.
const std::string slow_sim = R"([{"id":"sim-0","executor":"sim","slots":256,"latency_ms":1500}])";

/// A plan that runs every video at once (the default pro plan runs 8 at a time).
const std::string wide_plan =
  R"("plans":[{"name":"pro","rank":2,"requests_per_minute":100000,"max_concurrent_jobs":256}])";

/// Eleven words: the 5 s bucket, 150 credits.
const std::string script =
  R"({"script":"Wake up early and ship one small thing before lunch today.",)"
  R"("target_duration":5})";

std::string create(http_client& http, const std::string& key) {
  auto answer =
    http.request("POST", "/api/v1/videos", script,
                 {{"Authorization", "Bearer " + key}, {"Content-Type", "application/json"}});
  INFO(answer.body);
  REQUIRE(answer.status == 201);
  return json::parse(answer.body)["job_id"].str();
}

json list(http_client& http, const std::string& key, const std::string& query) {
  auto answer = http.get("/api/v1/videos" + query, key);
  INFO(query << ": " << answer.body);
  REQUIRE(answer.status == 200);
  return json::parse(answer.body);
}

std::vector<std::string> ids_of(const json& page) {
  std::vector<std::string> ids;
  for (std::size_t i = 0; i < page["jobs"].size(); ++i) ids.push_back(page["jobs"][i]["id"].str());
  return ids;
}

std::vector<std::string> slice(const std::vector<std::string>& all, std::size_t from,
                               std::size_t count) {
  std::vector<std::string> out;
  for (std::size_t i = from; i < all.size() && out.size() < count; ++i) out.push_back(all[i]);
  return out;
}

void check_refusal(http_client& http, const std::string& key, const std::string& query,
                   const std::string& code) {
  auto answer = http.get("/api/v1/videos" + query, key);
  INFO(query << ": " << answer.body);
  CHECK(answer.status == 400);
  CHECK(json::parse(answer.body)["/error/code"].str() == code);
  CHECK(json::parse(answer.body)["/error/type"].str() == "validation_error");
}

}  // namespace

TEST_CASE("agent.media lists hundreds of videos by offset, total, sort and status",
          "[e2e][agent_media][listing]") {
  test_server server(slow_sim, wide_plan);
  http_client* http_ptr = &server.http();
  auto& http = *http_ptr;
  auto account = create_account(http, "pro", 100'000);
  std::vector<std::string> made;  // oldest first
  for (int i = 0; i < 230; ++i) made.push_back(create(http, account.key));
  std::vector<std::string> canceled;
  for (std::size_t i = 5; i < made.size(); i += 10) {  // 23 of them, while they run
    auto answer = http.post("/api/v1/videos/" + made[i] + "/cancel", "{}", account.key);
    INFO(answer.body);
    REQUIRE(answer.status == 200);
    canceled.push_back(made[i]);
  }
  REQUIRE(eventually(
    [&] {
      return list(http, account.key, "?status=processing")["total"].integer() +
               list(http, account.key, "?status=queued")["total"].integer() ==
             0;
    },
    std::chrono::seconds(30)));
  std::vector<std::string> newest(made.rbegin(), made.rend());
  std::vector<std::string> completed;
  for (const auto& id : made)
    if (std::find(canceled.begin(), canceled.end(), id) == canceled.end()) completed.push_back(id);

  auto check_pages = [&] {
    auto& http = *http_ptr;  // the server's client changes at a restart
    auto first = list(http, account.key, "");
    CHECK(first["total"].integer() == 230);
    CHECK(ids_of(first) == slice(newest, 0, 20));  // default limit 20, newest first
    CHECK(ids_of(list(http, account.key, "?limit=100&offset=150")) == slice(newest, 150, 100));
    CHECK(ids_of(list(http, account.key, "?limit=7&offset=10&sort=oldest")) == slice(made, 10, 7));
    CHECK(list(http, account.key, "?offset=230")["jobs"].size() == 0);
    auto done = list(http, account.key, "?status=completed&sort=oldest&limit=100&offset=100");
    CHECK(done["total"].integer() == static_cast<std::int64_t>(completed.size()));
    CHECK(ids_of(done) == slice(completed, 100, 100));
    auto stopped = list(http, account.key, "?status=canceled&sort=oldest&limit=100");
    CHECK(stopped["total"].integer() == 23);
    CHECK(ids_of(stopped) == canceled);
    CHECK(stopped["/jobs/0/status"].str() == "canceled");
    CHECK(list(http, account.key, "?status=submitted")["total"].integer() == 0);
  };
  check_pages();
  // Every view in the list is agent.media's, with its fields.
  auto one = list(http, account.key, "?limit=1&sort=oldest");
  CHECK(one["/jobs/0/model_slug"].str() == "ugc-basic");
  CHECK(one["/jobs/0/operation"].str() == "ugc_video");
  CHECK(one["/jobs/0/status"].str() == "completed");
  CHECK(one["/jobs/0/credit_cost"].integer() == 150);
  CHECK(one["/jobs/0/output_url"].str().find("/v1/files/") != std::string::npos);
  // The core lists the same jobs, with the same total.
  auto core = json::parse(http.get("/v1/jobs?limit=5&offset=3&order=asc", account.key).body);
  CHECK(core["total"].integer() == 230);
  CHECK(core["/data/0/id"].str() == made[3]);
  CHECK(http.get("/v1/jobs?offset=1&cursor=0000000000000001", account.key).status == 400);

  check_refusal(http, account.key, "?offset=10001", "invalid_offset");
  check_refusal(http, account.key, "?offset=-1", "invalid_offset");
  check_refusal(http, account.key, "?limit=101", "invalid_limit");
  check_refusal(http, account.key, "?limit=0", "invalid_limit");
  check_refusal(http, account.key, "?sort=random", "invalid_sort");
  check_refusal(http, account.key, "?status=done", "invalid_status");

  // Another account sees none of them.
  auto other = create_account(http, "pro", 1000);
  CHECK(list(http, other.key, "")["total"].integer() == 0);

  server.process().kill();
  server.restart();
  http_ptr = &server.http();
  check_pages();
}

TEST_CASE("agent.media soft-deletes a video, refuses a running one, and an admin restores it",
          "[e2e][agent_media][listing]") {
  test_server server(slow_sim, wide_plan);
  auto& http = server.http();
  auto account = create_account(http, "pro", 10'000);
  std::vector<std::string> made;
  for (int i = 0; i < 6; ++i) made.push_back(create(http, account.key));
  // Still running: refused, and the video stays.
  auto running = http.del("/api/v1/videos/" + made[5], account.key);
  INFO(running.body);
  CHECK(running.status == 400);
  CHECK(json::parse(running.body)["/error/code"].str() == "cannot_delete");
  REQUIRE(
    eventually([&] { return list(http, account.key, "?status=completed")["total"].integer() == 6; },
               std::chrono::seconds(20)));
  auto balance_before = http.get("/v1/balance", account.key).body;

  auto deleted = http.del("/api/v1/videos/" + made[2], account.key);
  INFO(deleted.body);
  REQUIRE(deleted.status == 200);
  auto answer = json::parse(deleted.body);
  CHECK(answer["success"].boolean());
  CHECK(answer["jobId"].str() == made[2]);
  CHECK(answer["deletedAt"].str().size() == 24);  // 2026-03-20T15:00:00.000Z

  auto hidden = http.get("/api/v1/videos/" + made[2], account.key);
  CHECK(hidden.status == 404);
  CHECK(json::parse(hidden.body)["/error/code"].str() == "job_not_found");
  CHECK(http.get("/v1/jobs/" + made[2], account.key).status == 404);
  CHECK(http.get("/v1/jobs/" + made[2] + "/events", account.key).status == 404);
  CHECK(http.del("/api/v1/videos/" + made[2], account.key).status == 404);  // already gone
  auto page = list(http, account.key, "?sort=oldest");
  CHECK(page["total"].integer() == 5);
  CHECK(ids_of(page) == std::vector<std::string>{made[0], made[1], made[3], made[4], made[5]});
  CHECK(list(http, account.key, "?status=completed")["total"].integer() == 5);
  CHECK(json::parse(http.get("/v1/jobs", account.key).body)["total"].integer() == 5);
  // Its credits stay captured: the balance is what it was.
  CHECK(http.get("/v1/balance", account.key).body == balance_before);
  // Another account cannot delete it, nor restore it through its own id.
  auto other = create_account(http, "pro", 1000);
  CHECK(http.del("/api/v1/videos/" + made[3], other.key).status == 404);

  auto restore_path = "/admin/v1/accounts/" + account.id + "/jobs/" + made[2] + "/restore";
  CHECK(http.request("POST", restore_path, "", {}).status == 401);  // admin only
  CHECK(http
          .request("POST", "/admin/v1/accounts/" + other.id + "/jobs/" + made[2] + "/restore", "",
                   admin_headers())
          .status == 404);
  server.process().kill();  // the delete is durable
  server.restart();
  auto& again = server.http();
  CHECK(again.get("/api/v1/videos/" + made[2], account.key).status == 404);
  auto restored = again.request("POST", restore_path, "", admin_headers());
  INFO(restored.body);
  REQUIRE(restored.status == 200);
  CHECK(json::parse(restored.body)["id"].str() == made[2]);
  CHECK(again.request("POST", restore_path, "", admin_headers()).status == 404);  // not deleted
  CHECK(again.get("/api/v1/videos/" + made[2], account.key).status == 200);
  CHECK(list(again, account.key, "")["total"].integer() == 6);
  CHECK(ids_of(list(again, account.key, "?sort=oldest&offset=2&limit=1")) ==
        std::vector<std::string>{made[2]});
  CHECK(again.get("/v1/balance", account.key).body == balance_before);

  // The newest video deleted across a restart: the next one still comes after it (its place in
  // the order is not taken again), and both list once it is restored.
  REQUIRE(again.del("/api/v1/videos/" + made[5], account.key).status == 200);
  server.process().kill();
  server.restart();
  auto& third = server.http();
  auto next = create(third, account.key);
  auto newest_path = "/admin/v1/accounts/" + account.id + "/jobs/" + made[5] + "/restore";
  REQUIRE(third.request("POST", newest_path, "", admin_headers()).status == 200);
  auto tail = list(third, account.key, "?sort=newest&limit=2");
  CHECK(ids_of(tail) == std::vector<std::string>{next, made[5]});
  CHECK(tail["total"].integer() == 7);
}

TEST_CASE("agent.media's webhooks: video.completed and video.canceled with the GET view, signed",
          "[e2e][agent_media][webhooks]") {
  webhook_listener listener({});
  test_server server(slow_sim, wide_plan + R"(,"webhooks":{"allow_private_targets":true})");
  auto& http = server.http();
  auto account = create_account(http, "pro", 10'000);
  auto with_hook = [&](const std::string& path) {
    return R"({"script":"Wake up early and ship one small thing before lunch today.",)"
           R"("target_duration":5,"webhook_url":")" +
           listener.base_url() + path + R"("})";
  };
  auto post = [&](const std::string& body) {
    auto answer = http.request(
      "POST", "/api/v1/videos", body,
      {{"Authorization", "Bearer " + account.key}, {"Content-Type", "application/json"}});
    INFO(answer.body);
    REQUIRE(answer.status == 201);
    return json::parse(answer.body)["job_id"].str();
  };
  auto done = post(with_hook("/done"));
  auto stopped = post(with_hook("/stopped"));
  REQUIRE(http.post("/api/v1/videos/" + stopped + "/cancel", "{}", account.key).status == 200);
  REQUIRE(eventually([&] { return listener.requests().size() >= 2; }, std::chrono::seconds(20)));
  for (const auto& request : listener.requests()) {
    INFO(request.body);
    auto event = json::parse(request.body);
    bool completed = request.target == "/done";
    CHECK(event["event"].str() == (completed ? "video.completed" : "video.canceled"));
    CHECK(event["/job/id"].str() == (completed ? done : stopped));
    CHECK(event["/job/status"].str() == (completed ? "completed" : "canceled"));
    CHECK(event["/job/operation"].str() == "ugc_video");
    if (completed) CHECK(event["/job/output_url"].str().find("/v1/files/") != std::string::npos);
    else CHECK(event["/job/output_url"].is_null());
    // Standard Webhooks headers, the same as the core's (docs/frontends.md).
    CHECK(request.header("webhook-id").rfind("evt_", 0) == 0);
    CHECK_FALSE(request.header("webhook-timestamp").empty());
    CHECK(request.header("webhook-signature").rfind("v1,", 0) == 0);
  }
}
