// Monthly credits in the credit ledger: holds draw on them first and remember how many; a
// capture uses those first, a release (whole or the rest of a partial capture) gives them back;
// the period's top-up counts the monthly credits open holds drew; undo restores everything
// exactly; and a seeded random run keeps replay(entries) equal to the balance, monthly included.
#include <catch2/catch.hpp>

#include "models/ledger.hpp"

#include <cstdlib>
#include <random>
#include <string>
#include <vector>

using kiln::credit_ledger;
using kiln::ledger_entry;
using kiln::ledger_kind;

namespace {

/// A ledger with `purchased` credits and a top-up to `allowance` monthly ones.
credit_ledger with_credits(std::int64_t purchased, std::int64_t allowance,
                           std::vector<ledger_entry>& entries) {
  credit_ledger l;
  if (purchased > 0) entries.push_back(l.grant(purchased, "bought", 1));
  if (auto top = l.top_up_monthly(allowance, "monthly credits 2026-01", 2)) entries.push_back(*top);
  return l;
}

struct state {
  kiln::balance balance;
  std::int64_t hold_a, monthly_a, hold_b, monthly_b;
  std::uint64_t last_seq;
  bool operator==(const state&) const = default;
};

state state_of(const credit_ledger& l) {
  return {l.balance(),    l.hold_of("a"),         l.monthly_hold_of("a"),
          l.hold_of("b"), l.monthly_hold_of("b"), l.last_seq()};
}

}  // namespace

TEST_CASE("a hold draws monthly credits first; a release gives them back; a capture uses them",
          "[models][monthly]") {
  std::vector<ledger_entry> entries;
  auto l = with_credits(100, 50, entries);
  CHECK(l.balance().available == 150);
  CHECK(l.balance().monthly == 50);

  auto a = l.hold("a", "m", 30, 3);  // all monthly
  REQUIRE(a);
  CHECK(a->monthly == 30);
  CHECK(l.monthly_hold_of("a") == 30);
  auto b = l.hold("b", "m", 40, 4);  // 20 monthly, 20 purchased
  REQUIRE(b);
  CHECK(b->monthly == 20);
  CHECK(l.balance().monthly == 0);
  CHECK(l.balance().available == 80);

  auto released = l.release("b", "m", 5);
  REQUIRE(released);
  CHECK(released->monthly == 20);
  CHECK(l.balance().monthly == 20);  // the purchased 20 went back to purchased
  CHECK(l.balance().available == 120);
  auto captured = l.capture("a", "m", 6);
  REQUIRE(captured);
  CHECK(captured->monthly == 30);
  CHECK(l.balance().monthly == 20);
  CHECK(l.consistent());
}

TEST_CASE("a partial capture uses the hold's monthly credits first and gives back the rest",
          "[models][monthly]") {
  std::vector<ledger_entry> entries;
  auto l = with_credits(100, 60, entries);
  REQUIRE(l.hold("a", "m", 80, 3));  // 60 monthly, 20 purchased
  auto before = state_of(l);
  auto two = l.capture_partial("a", "m", 50, 4);
  REQUIRE(two.size() == 2);
  CHECK(two[0].monthly == 50);  // used: monthly first
  CHECK(two[1].monthly == 10);  // the monthly rest comes back; the 20 purchased go to purchased
  CHECK(l.balance().monthly == 10);
  CHECK(l.balance().available == 100 - 20 + 30);
  CHECK(l.consistent());
  l.undo(two[1]);
  l.undo(two[0]);
  CHECK(state_of(l) == before);
}

TEST_CASE("the period's top-up fills the allowance, counting what open holds drew",
          "[models][monthly]") {
  std::vector<ledger_entry> entries;
  auto l = with_credits(0, 100, entries);
  REQUIRE(l.hold("a", "m", 30, 3));
  REQUIRE(l.capture("a", "m", 4));
  REQUIRE(l.hold("b", "m", 50, 5));  // still running at the period's end
  auto top = l.top_up_monthly(100, "monthly credits 2026-02", 6);
  REQUIRE(top);
  CHECK(top->amount == 30);  // what was used; b's 50 are still the period's to give back
  CHECK(top->kind == ledger_kind::grant);
  CHECK(l.balance().monthly == 50);
  REQUIRE(l.release("b", "m", 7));
  CHECK(l.balance().monthly == 100);                                 // never above the allowance
  CHECK_FALSE(l.top_up_monthly(100, "monthly credits 2026-03", 8));  // nothing missing
  CHECK(l.consistent());
}

TEST_CASE("undo of each movement restores monthly credits and the holds' parts exactly",
          "[models][monthly]") {
  std::vector<ledger_entry> entries;
  auto l = with_credits(20, 30, entries);
  auto s0 = state_of(l);
  auto hold = l.hold("a", "m", 40, 3);
  REQUIRE(hold);
  auto s1 = state_of(l);
  auto release = l.release("a", "m", 4);
  REQUIRE(release);
  l.undo(*release);
  CHECK(state_of(l) == s1);
  auto capture = l.capture("a", "m", 5);
  REQUIRE(capture);
  l.undo(*capture);
  CHECK(state_of(l) == s1);
  l.undo(*hold);
  CHECK(state_of(l) == s0);
  auto top = l.top_up_monthly(90, "monthly credits 2026-02", 6);
  REQUIRE(top);
  l.undo(*top);
  CHECK(state_of(l) == s0);
}

TEST_CASE("random movements with monthly credits replay to the balance and stay consistent",
          "[models][monthly]") {
  auto seed = std::getenv("KILN_TEST_SEED")
                ? std::strtoull(std::getenv("KILN_TEST_SEED"), nullptr, 10)
                : 20261207ull;
  INFO("KILN_TEST_SEED=" << seed);
  std::mt19937_64 rng(seed);
  for (int run = 0; run < 50; ++run) {
    std::vector<ledger_entry> entries;
    auto l = with_credits(static_cast<std::int64_t>(rng() % 200),
                          static_cast<std::int64_t>(rng() % 200), entries);
    std::vector<std::string> open;
    int next_job = 0;
    for (int step = 0; step < 300; ++step) {
      auto pick = rng() % 7;
      std::vector<ledger_entry> made;
      if (pick == 0 || pick == 1) {
        auto id = "j" + std::to_string(next_job++);
        if (auto e = l.hold(id, "m", 1 + static_cast<std::int64_t>(rng() % 60), step)) {
          made.push_back(*e);
          open.push_back(id);
        }
      } else if ((pick == 2 || pick == 3 || pick == 4) && !open.empty()) {
        auto at = rng() % open.size();
        auto id = open[at];
        open.erase(open.begin() + static_cast<std::ptrdiff_t>(at));
        if (pick == 2) made.push_back(*l.capture(id, "m", step));
        else if (pick == 3) made.push_back(*l.release(id, "m", step));
        else made = l.capture_partial(id, "m", static_cast<std::int64_t>(rng() % 70), step);
      } else if (pick == 5) {
        if (auto e = l.top_up_monthly(static_cast<std::int64_t>(rng() % 200), "monthly", step))
          made.push_back(*e);
      } else {
        made.push_back(l.grant(1 + static_cast<std::int64_t>(rng() % 50), "bought", step));
      }
      // A failed write: undo what this step made (newest first) and check nothing moved.
      if (!made.empty() && rng() % 5 == 0) {
        for (auto it = made.rbegin(); it != made.rend(); ++it) l.undo(*it);
        if (!made.empty() && made.front().kind == ledger_kind::hold) open.pop_back();
        if (!made.empty() && made.front().kind != ledger_kind::hold &&
            made.front().kind != ledger_kind::grant)
          open.push_back(made.front().job_id);
        made.clear();
      }
      for (auto& e : made) entries.push_back(e);
      REQUIRE(l.consistent());
      REQUIRE(kiln::replay(entries) == l.balance());
    }
  }
}
