// The credit ledger on the real binary: holds under concurrent submits, capture on success,
// release on device failure, the balance, ledger, account and usage views, and admin grants.
#include "tests/support/ledger_e2e.hpp"
#include "models/catalog.hpp"
#include "tests/support/e2e.hpp"

#include <catch2/catch.hpp>

#include <csignal>
#include <latch>
#include <map>
#include <mutex>
#include <set>
#include <thread>

using namespace kiln::test;

namespace {

std::string job_body(const std::string& model, int n, const std::string& prompt = "ledger") {
  return R"({"type":"image","model":")" + model + R"(","prompt":")" + prompt + R"(","n":)" +
         std::to_string(n) + "}";
}

http_response grant(http_client& http, const std::string& account_id, const std::string& body,
                    const std::string& idempotency_key = {}) {
  auto headers = admin_headers();
  headers.emplace_back("Content-Type", "application/json");
  if (!idempotency_key.empty()) headers.emplace_back("Idempotency-Key", idempotency_key);
  return http.request("POST", "/admin/v1/accounts/" + account_id + "/credits", body, headers);
}

std::string error_code_of(const http_response& response) {
  return json::parse(response.body)["/error/code"].str();
}

}  // namespace

TEST_CASE(
  "32 concurrent clients submitting 128 jobs against 40 credits get exactly 40 jobs, and "
  "the other 88 are refused with insufficient_credits",
  "[e2e]") {
  test_server server;
  auto account = create_account(server.http(), "pro", 40);

  constexpr int threads = 32, per_thread = 4;
  std::latch start(threads);
  std::mutex lock;
  std::vector<std::string> created;
  std::map<int, int> statuses;
  std::multiset<std::string> refusal_codes;
  std::vector<std::thread> clients;
  for (int t = 0; t < threads; ++t)
    clients.emplace_back([&, t] {
      http_client http(server.process().port());
      start.arrive_and_wait();
      for (int i = 0; i < per_thread; ++i) {
        auto response = http.post(
          "/v1/jobs", job_body("flux2-turbo", 1, "race " + std::to_string(t)), account.key);
        std::lock_guard guard(lock);
        statuses[response.status] += 1;
        if (response.status == 201) created.push_back(json::parse(response.body)["id"].str());
        if (response.status == 402) refusal_codes.insert(error_code_of(response));
      }
    });
  for (auto& client : clients) client.join();

  auto& http = server.http();
  CHECK(statuses == std::map<int, int>{{201, 40}, {402, 88}});
  CHECK(refusal_codes.count("insufficient_credits") == refusal_codes.size());
  REQUIRE(std::set<std::string>(created.begin(), created.end()).size() == 40);

  auto now = balance_of(http, account.key);
  INFO(describe(now));
  CHECK(now.available == 0);
  CHECK(now.held + now.used == 40);
  CHECK(now.granted == 40);

  auto ledger = all_pages(http, account.key, "/v1/ledger");
  std::set<std::string> held_for;
  int holds = 0, grants = 0;
  for (const auto& entry : ledger) {
    if (entry["kind"].str() == "hold") {
      ++holds;
      held_for.insert(entry["job_id"].str());
      CHECK(entry["amount"].integer() == 1);
    }
    if (entry["kind"].str() == "grant") ++grants;
  }
  CHECK(holds == 40);
  CHECK(grants == 1);
  CHECK(held_for == std::set<std::string>(created.begin(), created.end()));
  CHECK(all_pages(http, account.key, "/v1/jobs").size() == 40);

  REQUIRE(eventually([&] { return balance_of(http, account.key).used == 40; }));
  CHECK(balance_of(http, account.key) == credits{0, 0, 40, 40});
  CHECK(replay_ledger(all_pages(http, account.key, "/v1/ledger")) == credits{0, 0, 40, 40});
}

TEST_CASE(
  "A job that succeeds moves its cost from held to used, recorded as a hold then a "
  "capture",
  "[e2e]") {
  test_server server(R"([{"id":"sim-0","executor":"sim","slots":1,"latency_ms":300}])");
  auto& http = server.http();
  auto account = create_account(http, "pro", 10);

  auto id = submit_job(http, account.key, job_body("nano-banana", 2));  // 2 x 2 credits
  CHECK(balance_of(http, account.key) == credits{6, 4, 0, 10});
  auto done = wait_for_terminal(http, account.key, id);
  REQUIRE(done["status"].str() == "succeeded");
  CHECK(done["credits_held"].integer() == 4);
  CHECK(done["credits_used"].integer() == 4);
  CHECK(done["credits_refunded"].integer() == 0);
  CHECK(balance_of(http, account.key) == credits{6, 0, 4, 10});

  auto ledger = all_pages(http, account.key, "/v1/ledger");
  REQUIRE(ledger.size() == 3);
  CHECK(ledger[0]["kind"].str() == "capture");
  CHECK(ledger[1]["kind"].str() == "hold");
  CHECK(ledger[2]["kind"].str() == "grant");
  for (int i : {0, 1}) {
    CHECK(ledger[i]["object"].str() == "ledger_entry");
    CHECK(ledger[i]["job_id"].str() == id);
    CHECK(ledger[i]["model"].str() == "nano-banana");
    CHECK(ledger[i]["amount"].integer() == 4);
    CHECK(ledger[i]["available_after"].integer() == 6);
  }
  CHECK(ledger[2]["job_id"].is_null());
  CHECK(ledger[2]["amount"].integer() == 10);
  CHECK(ledger[2]["available_after"].integer() == 10);
  CHECK(ledger[0]["id"].str() != ledger[1]["id"].str());
  CHECK(ledger[0]["at"].str() >= ledger[1]["at"].str());
  CHECK(replay_ledger(ledger) == credits{6, 0, 4, 10});
}

TEST_CASE("A job that fails on the device after its retries gets its whole hold released",
          "[e2e]") {
  test_server server(sim_devices, R"("faults":{"device_fail_rate":1.0},"jobs":{"max_attempts":2})");
  auto& http = server.http();
  auto account = create_account(http, "pro", 100);

  auto id = submit_job(http, account.key, job_body("seedream", 2));  // 2 x 3 credits
  auto done = wait_for_terminal(http, account.key, id);
  REQUIRE(done["status"].str() == "failed");
  CHECK(done["/error/code"].str() == "device_error");
  CHECK(done["attempts"].integer() == 2);
  CHECK(done["credits_held"].integer() == 6);
  CHECK(done["credits_used"].integer() == 0);
  CHECK(done["credits_refunded"].integer() == 6);
  CHECK(done["output"].is_null());
  CHECK(balance_of(http, account.key) == credits{100, 0, 0, 100});

  auto ledger = all_pages(http, account.key, "/v1/ledger");
  REQUIRE(ledger.size() == 3);
  CHECK(ledger[0]["kind"].str() == "release");
  CHECK(ledger[0]["job_id"].str() == id);
  CHECK(ledger[0]["amount"].integer() == 6);
  CHECK(ledger[0]["available_after"].integer() == 100);
  CHECK(ledger[1]["kind"].str() == "hold");
  CHECK(replay_ledger(ledger) == credits{100, 0, 0, 100});

  auto device = admin_devices(http)["data"][0];
  CHECK(device["failed"].integer() == 2);
  CHECK(device["busy"].integer() == 0);
  auto usage = json::parse(http.get("/v1/usage?period=7d", account.key).body);
  CHECK(usage["/total/credits"].integer() == 0);
  CHECK(usage["/total/jobs"].integer() == 0);
}

TEST_CASE("Balance, ledger, account and usage describe the same credits after a few jobs",
          "[e2e]") {
  // The default plans as shipped (tests otherwise raise every plan's request rate).
  test_server server(
    sim_devices,
    R"("plans":[{"name":"free","rank":0,"requests_per_minute":60,"max_concurrent_jobs":1},)"
    R"({"name":"starter","rank":1,"requests_per_minute":300,"max_concurrent_jobs":2},)"
    R"({"name":"pro","rank":2,"requests_per_minute":1200,"max_concurrent_jobs":8},)"
    R"({"name":"enterprise","rank":3,"requests_per_minute":6000,"max_concurrent_jobs":32}])");
  auto& http = server.http();
  auto account = create_account(http, "pro", 100);
  auto free_account = create_account(http, "free", 5, "free");

  // flux2-turbo 1 + 3, seedream 3, nano-banana 4: 11 credits over 4 jobs.
  std::vector<std::string> ids;
  for (const auto& [model, n] : std::vector<std::pair<std::string, int>>{
         {"flux2-turbo", 1}, {"flux2-turbo", 3}, {"seedream", 1}, {"nano-banana", 2}})
    ids.push_back(submit_job(http, account.key, job_body(model, n)));
  for (const auto& id : ids)
    REQUIRE(wait_for_terminal(http, account.key, id)["status"].str() == "succeeded");
  REQUIRE(grant(http, account.id, R"({"amount":50,"reason":"bonus"})").status == 201);

  auto balance = json::parse(http.get("/v1/balance", account.key).body);
  CHECK(balance["object"].str() == "balance");
  CHECK(credits_of(balance) == credits{139, 0, 11, 150});

  auto view = json::parse(http.get("/v1/account", account.key).body);
  CHECK(view["id"].str() == account.id);
  CHECK(view["object"].str() == "account");
  CHECK(view["plan"].str() == "pro");
  CHECK(view["/limits/requests_per_minute"].integer() == 1200);
  CHECK(view["/limits/max_concurrent_jobs"].integer() == 8);
  // The models a plan may use: every one whose min_plan ranks at or below it.
  auto models_for = [](std::set<std::string> plans) {
    std::size_t count = 0;
    for (const auto& m : kiln::catalog::builtin().models()) count += plans.count(m.min_plan);
    return count;
  };
  CHECK(view["models"].size() == models_for({"free", "starter", "pro"}));
  CHECK(credits_of(view["balance"]) == credits{139, 0, 11, 150});
  auto free_view = json::parse(http.get("/v1/account", free_account.key).body);
  CHECK(free_view["plan"].str() == "free");
  CHECK(free_view["/limits/max_concurrent_jobs"].integer() == 1);
  std::set<std::string> free_models;
  for (std::size_t i = 0; i < free_view["models"].size(); ++i)
    free_models.insert(free_view["models"][i].str());
  CHECK(free_models.size() == models_for({"free"}));
  CHECK(free_models.count("seedance") == 0);
  auto video = http.post("/v1/jobs", R"({"type":"video","model":"seedance","prompt":"p",
    "params":{"duration_seconds":5}})",
                         free_account.key);
  CHECK(video.status == 403);
  CHECK(balance_of(http, free_account.key) == credits{5, 0, 0, 5});

  // The ledger: 2 grants, 4 holds, 4 captures; pages of 3 give each entry once, newest first.
  auto everything = all_pages(http, account.key, "/v1/ledger", 100);
  REQUIRE(everything.size() == 10);
  auto paged = all_pages(http, account.key, "/v1/ledger", 3);
  REQUIRE(paged.size() == 10);
  std::set<std::string> entry_ids;
  for (std::size_t i = 0; i < paged.size(); ++i) {
    CHECK(paged[i]["id"].str() == everything[i]["id"].str());
    entry_ids.insert(paged[i]["id"].str());
  }
  CHECK(entry_ids.size() == 10);
  CHECK(everything[0]["kind"].str() == "grant");
  CHECK(everything[0]["reason"].str() == "bonus");
  CHECK(everything.back()["kind"].str() == "grant");
  CHECK(replay_ledger(everything) == credits{139, 0, 11, 150});
  auto first = json::parse(http.get("/v1/ledger?limit=3", account.key).body);
  CHECK(first["object"].str() == "list");
  CHECK(first["has_more"].boolean());
  CHECK(http.get("/v1/ledger?limit=0", account.key).status == 400);
  CHECK(
    json::parse(http.get("/v1/ledger?limit=101", account.key).body)["/error/details/field"].str() ==
    "limit");
  CHECK(
    json::parse(http.get("/v1/ledger?cursor=zz", account.key).body)["/error/details/field"].str() ==
    "cursor");
  CHECK(http.get("/v1/ledger").status == 401);
  CHECK(all_pages(http, free_account.key, "/v1/ledger").size() == 1);  // its own grant only

  // Usage counts captures only, per model and per day.
  for (const std::string period : {"7d", "30d", "90d"}) {
    INFO(period);
    auto response = http.get("/v1/usage?period=" + period, account.key);
    REQUIRE(response.status == 200);
    auto usage = json::parse(response.body);
    CHECK(usage["object"].str() == "usage");
    CHECK(usage["period"].str() == period);
    CHECK(usage["from"].str() < usage["to"].str());
    CHECK(usage["/total/credits"].integer() == 11);
    CHECK(usage["/total/jobs"].integer() == 4);
    std::map<std::string, std::pair<std::int64_t, std::int64_t>> by_model;
    std::int64_t credit_sum = 0, job_sum = 0;
    for (std::size_t i = 0; i < usage["by_model"].size(); ++i) {
      auto row = usage["by_model"][i];
      by_model[row["model"].str()] = {row["credits"].integer(), row["jobs"].integer()};
      credit_sum += row["credits"].integer();
      job_sum += row["jobs"].integer();
    }
    CHECK(by_model == std::map<std::string, std::pair<std::int64_t, std::int64_t>>{
                        {"flux2-turbo", {4, 2}}, {"seedream", {3, 1}}, {"nano-banana", {4, 1}}});
    CHECK(credit_sum == 11);
    CHECK(job_sum == 4);
    REQUIRE(usage["by_day"].size() == 1);
    CHECK(usage["by_day"][0]["date"].str() == usage["to"].str().substr(0, 10));
    CHECK(usage["by_day"][0]["credits"].integer() == 11);
    CHECK(usage["by_day"][0]["jobs"].integer() == 4);
  }
  for (const std::string bad : {"?period=1y", "?period=", "?period=7"}) {
    INFO(bad);
    auto response = http.get("/v1/usage" + bad, account.key);
    CHECK(response.status == 400);
    CHECK(json::parse(response.body)["/error/details/field"].str() == "period");
  }
}

TEST_CASE(
  "An admin grant with an Idempotency-Key credits once, replays identically, and lets a "
  "refused job through",
  "[e2e]") {
  test_server server;
  auto& http = server.http();
  auto account = create_account(http, "pro", 2);
  const std::string pricey = job_body("nano-banana-pro", 1);  // 6 credits

  auto refused = http.post("/v1/jobs", pricey, account.key);
  REQUIRE(refused.status == 402);
  CHECK(error_code_of(refused) == "insufficient_credits");
  CHECK(balance_of(http, account.key) == credits{2, 0, 0, 2});
  CHECK(all_pages(http, account.key, "/v1/jobs").empty());
  CHECK(all_pages(http, account.key, "/v1/ledger").size() == 1);

  auto first = grant(http, account.id, R"({"amount":10,"reason":"top-up"})", "grant-1");
  REQUIRE(first.status == 201);
  CHECK_FALSE(first.has_header("idempotent-replayed"));
  auto entry = json::parse(first.body);
  CHECK(entry["object"].str() == "ledger_entry");
  CHECK(entry["kind"].str() == "grant");
  CHECK(entry["amount"].integer() == 10);
  CHECK(entry["job_id"].is_null());
  CHECK(entry["reason"].str() == "top-up");
  CHECK(entry["available_after"].integer() == 12);

  auto replayed = grant(http, account.id, R"({"amount":10,"reason":"top-up"})", "grant-1");
  CHECK(replayed.status == 201);
  CHECK(replayed.body == first.body);
  CHECK(replayed.header("idempotent-replayed") == "true");
  CHECK(balance_of(http, account.key) == credits{12, 0, 0, 12});

  auto reused = grant(http, account.id, R"({"amount":11,"reason":"top-up"})", "grant-1");
  CHECK(reused.status == 422);
  CHECK(error_code_of(reused) == "idempotency_key_reused");
  for (const std::string body : {R"({"amount":0})", R"({"amount":-5})", R"({"reason":"none"})",
                                 R"({"amount":"10"})", R"({"amount":1000000000001})"}) {
    INFO(body);
    auto bad = grant(http, account.id, body);
    CHECK(bad.status == 400);
    CHECK(json::parse(bad.body)["/error/details/field"].str() == "amount");
  }
  auto unknown = grant(http, "acct_doesnotexist", R"({"amount":1})");
  CHECK(unknown.status == 404);
  CHECK(error_code_of(unknown) == "not_found");
  CHECK(http
          .request("POST", "/admin/v1/accounts/" + account.id + "/credits", R"({"amount":1})",
                   {bearer(account.key), {"Content-Type", "application/json"}})
          .status == 401);
  CHECK(balance_of(http, account.key) == credits{12, 0, 0, 12});

  // The key survives a crash: the replay still answers the first grant and credits nothing.
  server.process().kill(SIGKILL);
  server.restart();
  auto after_crash =
    grant(server.http(), account.id, R"({"amount":10,"reason":"top-up"})", "grant-1");
  CHECK(after_crash.status == 201);
  CHECK(after_crash.body == first.body);
  CHECK(after_crash.header("idempotent-replayed") == "true");
  auto& again = server.http();
  CHECK(balance_of(again, account.key) == credits{12, 0, 0, 12});

  auto id = submit_job(again, account.key, pricey);
  CHECK(wait_for_terminal(again, account.key, id)["status"].str() == "succeeded");
  CHECK(balance_of(again, account.key) == credits{6, 0, 6, 12});
  auto ledger = all_pages(again, account.key, "/v1/ledger");
  REQUIRE(ledger.size() == 4);
  CHECK(ledger[2]["id"].str() == entry["id"].str());
  CHECK(replay_ledger(ledger) == credits{6, 0, 6, 12});
}

TEST_CASE("Concurrent admin grants with one Idempotency-Key credit the account once", "[e2e]") {
  test_server server;
  auto account = create_account(server.http(), "pro", 0);
  constexpr int threads = 8;
  std::latch start(threads);
  std::mutex lock;
  std::vector<http_response> answers;
  std::vector<std::thread> admins;
  for (int t = 0; t < threads; ++t)
    admins.emplace_back([&] {
      http_client http(server.process().port());
      start.arrive_and_wait();
      auto response = grant(http, account.id, R"({"amount":25})", "same-key");
      std::lock_guard guard(lock);
      answers.push_back(std::move(response));
    });
  for (auto& admin : admins) admin.join();

  // The grants that arrive while the first is written wait for it at the key's owner.
  std::set<std::string> bodies;
  int replayed = 0;
  for (const auto& response : answers) {
    INFO(response.status << " " << response.body);
    CHECK(response.status == 201);
    bodies.insert(response.body);
    replayed += response.header("idempotent-replayed") == "true";
  }
  CHECK(bodies.size() == 1);
  CHECK(replayed == threads - 1);
  auto& http = server.http();
  CHECK(balance_of(http, account.key) == credits{25, 0, 0, 25});
  CHECK(all_pages(http, account.key, "/v1/ledger").size() == 1);
}
