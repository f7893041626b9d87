// A plan's monthly credits through the real account actor and store, on the manual clock: the
// period's grant on the account's first start, holds that draw on monthly credits first, the
// top-up when the clock passes into the next month (the timer's check), never twice for one
// period (repeated checks, a restart, a clock that went back), and the ledger replaying to the
// balance, monthly part included, throughout.
#include <catch2/catch.hpp>

#include "models/billing_period.hpp"
#include "tests/actors/actor_node.hpp"

#include <chrono>
#include <string>
#include <thread>
#include <variant>
#include <vector>

using namespace kiln;
using namespace kiln::test;
using namespace std::chrono_literals;

namespace {

const char* const video_5s =
  R"({"type":"video","model":"ugc-basic","prompt":"a short script about mornings",)"
  R"("params":{"duration_seconds":5}})";

node_options monthly_plan() {
  node_options options;
  options.plans = {plan_settings{.name = "starter",
                                 .rank = 1,
                                 .requests_per_minute = 1000,
                                 .max_concurrent_jobs = 4,
                                 .monthly_credits = 1000,
                                 .max_duration_s = 10,
                                 .api_access = true,
                                 .max_pixels = 0}};
  return options;
}

/// The account's grants whose reason names a month ("monthly credits 2026-02").
std::vector<ledger_entry> monthly_grants(const store& db, const std::string& account_id) {
  std::vector<ledger_entry> grants;
  for (auto& e : stored_ledger(db, account_id))
    if (e.kind == ledger_kind::grant && e.reason.rfind("monthly credits ", 0) == 0)
      grants.push_back(e);
  return grants;
}

void check_books(const store& db, const std::string& account_id) {
  auto problems = ledger_problems(read_account(db, account_id));
  std::string text;
  for (const auto& p : problems) text += p + "\n";
  INFO(text);
  CHECK(problems.empty());
}

/// Moves the node's clock to noon of the 1st of the next month (UTC).
void advance_to_next_month(actor_node& node) {
  auto now = node.time->now_ms();
  auto target = period_of(now).end_ms + 12 * 3'600'000;
  node.time->advance(std::chrono::milliseconds(target - now));
}

}  // namespace

TEST_CASE("monthly credits are granted once a period, drawn first, and topped up at the next",
          "[actors][ledger][monthly]") {
  temp_dir dir;
  std::string account_id, key;
  std::int64_t cost = 0;
  {
    actor_node node(monthly_plan(), dir.path());
    auto created = node.create_account("starter", 400);
    account_id = created.account.id;
    key = created.api_key_plain;
    auto who = node.authenticate(key);
    // The first start grants January's credits.
    REQUIRE(wait_for([&] { return monthly_grants(*node.db, account_id).size() == 1; }));
    auto first = monthly_grants(*node.db, account_id).front();
    CHECK(first.amount == 1000);
    CHECK(first.monthly == 1000);
    CHECK(first.reason == "monthly credits 2026-01");
    // On disk first; the actor's balance once it hears the write landed.
    REQUIRE(wait_for([&] { return node.balance(who).monthly == 1000; }));
    CHECK(node.balance(who).available == 1400);

    // A hold draws on the monthly credits first; the job records how many.
    auto made = node.submit(who, spec_from(video_5s));
    REQUIRE(std::holds_alternative<job>(made));
    cost = std::get<job>(made).credits_held;
    REQUIRE(cost > 0);
    CHECK(std::get<job>(made).credits_held_monthly == cost);
    auto done = node.wait_until_terminal(who, std::get<job>(made).id);
    CHECK(done.status == job_status::succeeded);
    node.settle();
    CHECK(node.balance(who).monthly == 1000 - cost);
    CHECK(node.balance(who).available == 1400 - cost);
    CHECK(stored_account(*node.db, account_id)->monthly_period == "2026-01");

    // The same period checked again grants nothing.
    caf::anon_send(who.account, period_atom::value);
    caf::anon_send(who.account, period_atom::value);
    node.settle();
    std::this_thread::sleep_for(50ms);
    node.settle();
    CHECK(monthly_grants(*node.db, account_id).size() == 1);

    // February: the timer's check tops the monthly credits up to the allowance.
    advance_to_next_month(node);
    caf::anon_send(who.account, period_atom::value);
    REQUIRE(wait_for([&] { return monthly_grants(*node.db, account_id).size() == 2; }));
    REQUIRE(wait_for([&] { return node.balance(who).monthly == 1000; }));
    auto second = monthly_grants(*node.db, account_id).back();
    CHECK(second.reason == "monthly credits 2026-02");
    CHECK(second.amount == cost);  // only what was spent: unused ones do not pile up
    node.settle();
    CHECK(node.balance(who).monthly == 1000);
    CHECK(node.balance(who).available == 1400);  // the 400 purchased credits are untouched
    caf::anon_send(who.account, period_atom::value);
    node.settle();
    std::this_thread::sleep_for(50ms);
    node.settle();
    CHECK(monthly_grants(*node.db, account_id).size() == 2);
    check_books(*node.db, account_id);
  }
  {
    // A restart in February (its clock first behind, then in February) grants nothing more.
    actor_node node(monthly_plan(), dir.path());
    auto who = node.authenticate(key);
    node.settle();
    advance_to_next_month(node);  // January -> February
    caf::anon_send(who.account, period_atom::value);
    node.settle();
    std::this_thread::sleep_for(50ms);
    node.settle();
    CHECK(monthly_grants(*node.db, account_id).size() == 2);
    CHECK(node.balance(who).monthly == 1000);

    // Spend past the monthly credits: the rest comes from the purchased ones.
    std::vector<std::string> jobs;
    while (node.balance(who).monthly >= cost) {
      auto made = node.submit(who, spec_from(video_5s));
      REQUIRE(std::holds_alternative<job>(made));
      jobs.push_back(std::get<job>(made).id);
    }
    auto monthly_left = node.balance(who).monthly;
    auto mixed = node.submit(who, spec_from(video_5s));
    REQUIRE(std::holds_alternative<job>(mixed));
    CHECK(std::get<job>(mixed).credits_held_monthly == monthly_left);
    CHECK(node.balance(who).monthly == 0);
    for (const auto& id : jobs) node.wait_until_terminal(who, id);
    node.wait_until_terminal(who, std::get<job>(mixed).id);
    node.settle();
    check_books(*node.db, account_id);

    // March: topped up again, to the allowance and no further.
    advance_to_next_month(node);
    caf::anon_send(who.account, period_atom::value);
    REQUIRE(wait_for([&] { return monthly_grants(*node.db, account_id).size() == 3; }));
    REQUIRE(wait_for([&] { return node.balance(who).monthly == 1000; }));
    CHECK(monthly_grants(*node.db, account_id).back().reason == "monthly credits 2026-03");
    CHECK(node.balance(who).monthly == 1000);
    check_books(*node.db, account_id);
  }
}
