// agent.media's account, usage and plan limits on the real binary: the plan as its tier, monthly
// credits apart from purchased ones and spent first, current_period_end, the per-plan longest
// video (plan_limit), usage by outcome, model, day and operation; and the monthly grant across a
// period change made by restarting with the clock moved forward, granted exactly once even
// after another restart, the balance identity holding throughout.
#include "tests/support/e2e.hpp"

#include "models/billing_period.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <sstream>
#include <thread>

using namespace kiln::test;

namespace {

const std::string plans =
  R"("plans":[{"name":"starter","rank":1,"requests_per_minute":100000,"max_concurrent_jobs":3,)"
  R"("monthly_credits":3900,"max_duration_s":10},)"
  R"({"name":"pro","rank":2,"requests_per_minute":100000,"max_concurrent_jobs":5}],)"
  R"("faults":{"clock_offset_ms":0})";

const std::string five_seconds =
  R"({"script":"Wake up early and ship one small thing before lunch today.","target_duration":5})";

http_response create_video(http_client& http, const std::string& key, const std::string& body) {
  return http.request("POST", "/api/v1/videos", body,
                      {{"Authorization", "Bearer " + key}, {"Content-Type", "application/json"}});
}

json account_of(http_client& http, const std::string& key) {
  auto answer = http.get("/api/v1/account", key);
  INFO(answer.body);
  REQUIRE(answer.status == 200);
  return json::parse(answer.body);
}

/// The ledger's grants of monthly credits, newest first.
std::vector<json> monthly_grants(http_client& http, const std::string& key) {
  auto ledger = json::parse(http.get("/v1/ledger?limit=100", key).body);
  std::vector<json> grants;
  for (std::size_t i = 0; i < ledger["data"].size(); ++i)
    if (ledger["data"][i]["kind"].str() == "grant" &&
        ledger["data"][i]["reason"].str().rfind("monthly credits ", 0) == 0)
      grants.push_back(ledger["data"][i]);
  return grants;
}

void check_identity(http_client& http, const std::string& key) {
  auto b = json::parse(http.get("/v1/balance", key).body);
  CHECK(b["granted"].integer() ==
        b["available"].integer() + b["held"].integer() + b["used"].integer());
}

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
           std::chrono::system_clock::now().time_since_epoch())
    .count();
}

}  // namespace

TEST_CASE("agent.media's account: tier, monthly and purchased credits, limits and usage",
          "[e2e][agent_media][plans]") {
  test_server server(sim_devices, plans);
  auto& http = server.http();
  auto account = create_account(http, "starter", 100);
  // The first period's credits are granted as the account starts.
  REQUIRE(eventually([&] { return monthly_grants(http, account.key).size() == 1; }));
  auto view = account_of(http, account.key);
  CHECK(view["user_id"].str() == account.id);
  CHECK(view["/plan/tier"].str() == "starter");
  CHECK(view["/plan/name"].str() == "Creator");
  CHECK(view["/plan/status"].str() == "active");
  CHECK(view["/plan/trial_active"].boolean() == false);
  CHECK(view["/plan/trial_ends_at"].is_null());
  auto period = kiln::period_of(now_ms());
  CHECK(view["/plan/current_period_end"].str().substr(0, 10) ==
        kiln::period_of(period.end_ms).name + "-01");
  CHECK(view["/credits/monthly_allowance"].integer() == 3900);
  CHECK(view["/credits/monthly_remaining"].integer() == 3900);
  CHECK(view["/credits/purchased"].integer() == 100);
  CHECK(view["/credits/total"].integer() == 4000);
  CHECK(view["/limits/max_concurrent_jobs"].integer() == 3);
  CHECK(view["/limits/max_video_duration"].integer() == 10);
  CHECK(view["/limits/models_available/0"].str() == "ugc-basic");
  CHECK(monthly_grants(http, account.key)[0]["reason"].str() == "monthly credits " + period.name);

  // The plan's longest video is 10 s: a 15 s one is refused and nothing is held.
  auto too_long = create_video(
    http, account.key,
    R"({"script":"Wake up early and ship one small thing before lunch today.","target_duration":15})");
  INFO(too_long.body);
  CHECK(too_long.status == 403);
  CHECK(json::parse(too_long.body)["/error/code"].str() == "plan_limit");
  CHECK(json::parse(too_long.body)["/error/type"].str() == "authentication_error");
  CHECK(account_of(http, account.key)["/credits/total"].integer() == 4000);

  // Two 5 s videos: 300 credits, from the monthly ones first.
  std::vector<std::string> ids;
  for (int i = 0; i < 2; ++i) {
    auto made = create_video(http, account.key, five_seconds);
    INFO(made.body);
    REQUIRE(made.status == 201);
    ids.push_back(json::parse(made.body)["job_id"].str());
  }
  for (const auto& id : ids)
    CHECK(wait_for_terminal(http, account.key, id)["status"].str() == "succeeded");
  view = account_of(http, account.key);
  CHECK(view["/credits/monthly_remaining"].integer() == 3600);
  CHECK(view["/credits/purchased"].integer() == 100);
  check_identity(http, account.key);

  auto usage = http.get("/api/v1/account/usage?period=7d", account.key);
  INFO(usage.body);
  REQUIRE(usage.status == 200);
  auto u = json::parse(usage.body);
  CHECK(u["period"].str() == "7d");
  CHECK_FALSE(u["period_start"].str().empty());
  CHECK(u["/summary/total_jobs"].integer() == 2);
  CHECK(u["/summary/completed_jobs"].integer() == 2);
  CHECK(u["/summary/failed_jobs"].integer() == 0);
  CHECK(u["/summary/credits_used"].integer() == 300);
  CHECK(u["/by_model/0/model_slug"].str() == "ugc-basic");
  CHECK(u["/by_model/0/job_count"].integer() == 2);
  CHECK(u["/by_model/0/credits_used"].integer() == 300);
  CHECK(u["/by_model/0/avg_duration_seconds"].number() == 5.0);
  CHECK(u["/daily/0/job_count"].integer() == 2);
  CHECK(u["/daily/0/credits_used"].integer() == 300);
  CHECK(u["/by_operation/0/operation"].str() == "ugc_video");
  CHECK(u["/by_operation/0/job_count"].integer() == 2);
  CHECK(json::parse(http.get("/api/v1/account/usage", account.key).body)["period"].str() == "30d");
  auto bad = http.get("/api/v1/account/usage?period=1y", account.key);
  CHECK(bad.status == 400);
  CHECK(json::parse(bad.body)["/error/code"].str() == "invalid_period");

  // Kiln's default plans show as agent.media's tiers.
  auto pro = create_account(http, "pro", 50);
  auto pro_view = account_of(http, pro.key);
  CHECK(pro_view["/plan/tier"].str() == "creator");
  CHECK(pro_view["/plan/name"].str() == "Pro");
  CHECK(pro_view["/credits/monthly_allowance"].integer() == 0);
  CHECK(pro_view["/credits/purchased"].integer() == 50);
  CHECK(pro_view["/limits/max_video_duration"].integer() == 15);
}

TEST_CASE("the monthly grant of a new period lands once, across restarts",
          "[e2e][agent_media][plans]") {
  test_server server(sim_devices, plans);
  auto account = create_account(server.http(), "starter", 100);
  REQUIRE(eventually([&] { return monthly_grants(server.http(), account.key).size() == 1; }));
  auto made = create_video(server.http(), account.key, five_seconds);
  REQUIRE(made.status == 201);
  wait_for_terminal(server.http(), account.key, json::parse(made.body)["job_id"].str());
  auto first_end = account_of(server.http(), account.key)["/plan/current_period_end"].str();

  // The server comes back a day into the next month: the new period's top-up is granted.
  auto period = kiln::period_of(now_ms());
  auto offset = period.end_ms - now_ms() + 86'400'000;
  server.process().kill();
  set_clock_offset(server, offset);
  server.restart();
  REQUIRE(eventually([&] { return monthly_grants(server.http(), account.key).size() == 2; }));
  auto grants = monthly_grants(server.http(), account.key);
  CHECK(grants[0]["reason"].str() == "monthly credits " + kiln::period_of(period.end_ms).name);
  CHECK(grants[0]["amount"].integer() == 150);  // what the video used
  auto view = account_of(server.http(), account.key);
  CHECK(view["/credits/monthly_remaining"].integer() == 3900);
  CHECK(view["/credits/purchased"].integer() == 100);
  CHECK(view["/plan/current_period_end"].str() > first_end);
  check_identity(server.http(), account.key);

  // Another restart in the same period grants nothing more.
  server.process().kill();
  server.restart();
  CHECK(account_of(server.http(), account.key)["/credits/monthly_remaining"].integer() == 3900);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(monthly_grants(server.http(), account.key).size() == 2);
  check_identity(server.http(), account.key);
}
