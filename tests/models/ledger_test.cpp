// Unit tests for the credit ledger: direct cases for each movement and its undo, replay from
// zero, and a seeded randomized run that drives several ledgers side by side with a trivially
// correct model (set KILN_TEST_SEED to replay a failing run).
#include <catch2/catch.hpp>

#include "tests/support/death.hpp"

#include "models/ledger.hpp"

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

using kiln::credit_ledger;
using kiln::ledger_entry;
using kiln::ledger_kind;

namespace {

// available, held, used, granted
using quad = std::array<std::int64_t, 4>;
quad fields(const kiln::balance& b) { return {b.available, b.held, b.used, b.granted}; }

// Everything observable about a ledger, for "nothing changed" and "undo restores" checks.
struct snapshot {
  quad balance;
  std::size_t open_holds;
  std::uint64_t last_seq;
  std::map<std::string, std::int64_t> holds;  // of the jobs the test names
  bool operator==(const snapshot&) const = default;
};

snapshot snap(const credit_ledger& l, const std::vector<std::string>& jobs = {"a", "b", "c"}) {
  snapshot s{fields(l.balance()), l.open_holds(), l.last_seq(), {}};
  for (const auto& j : jobs) s.holds[j] = l.hold_of(j);
  return s;
}

// The model: plain integers and a map of open holds.
struct model_account {
  kiln::balance b;
  std::map<std::string, std::int64_t> holds;
  std::uint64_t seq = 0;
};

struct op {
  ledger_kind kind;
  std::string job;
  std::int64_t amount = 0;  // grant and hold only
  std::int64_t used = -1;   // capture: >= 0 captures that much (a partial capture)
};

/// Partial captures that split a hold into a capture and a release, over the random test.
int partial_splits = 0;

/// Checks one entry against the model as it is after that entry.
void check_entry(const ledger_entry& e, const model_account& m, ledger_kind kind,
                 std::int64_t amount, const std::string& job, std::int64_t now) {
  REQUIRE(e.kind == kind);
  REQUIRE(e.amount == amount);
  REQUIRE(e.seq == m.seq);
  REQUIRE(e.available_after == m.b.available);
  REQUIRE(e.job_id == (kind == ledger_kind::grant ? std::string() : job));
  REQUIRE((e.at_ms == now && e.id.rfind("led_", 0) == 0));
}

// Applies `o` to the ledger and the model, checks they agree, and returns the ledger's entries
// (two for a partial capture: its capture, then the release of the rest).
std::vector<ledger_entry> run_op(credit_ledger& l, model_account& m, const op& o,
                                 std::int64_t now) {
  INFO("op " << kiln::ledger_kind_name(o.kind) << " job '" << o.job << "' amount " << o.amount
             << " used " << o.used);
  std::vector<ledger_entry> out;
  std::int64_t amount = o.amount;
  auto one = [&](std::optional<ledger_entry> e, bool ok, ledger_kind kind) {
    REQUIRE(e.has_value() == ok);
    if (!ok) return;
    ++m.seq;
    check_entry(*e, m, kind, amount, o.job, now);
    out.push_back(*e);
  };
  switch (o.kind) {
    case ledger_kind::grant:
      m.b.granted += amount;
      m.b.available += amount;
      one(l.grant(amount, "test", now), true, o.kind);
      break;
    case ledger_kind::hold: {
      bool ok = amount > 0 && m.b.available >= amount && m.holds.count(o.job) == 0;
      if (ok) {
        m.b.available -= amount;
        m.b.held += amount;
        m.holds[o.job] = amount;
      }
      one(l.hold(o.job, "flux2-turbo", amount, now), ok, o.kind);
      break;
    }
    case ledger_kind::capture:
    case ledger_kind::release: {
      auto it = m.holds.find(o.job);
      bool ok = it != m.holds.end();
      std::int64_t held = ok ? it->second : 0;
      if (o.kind == ledger_kind::capture && o.used >= 0) {
        auto entries = l.capture_partial(o.job, "flux2-turbo", o.used, now);
        REQUIRE(entries.empty() == !ok);
        if (!ok) break;
        m.holds.erase(it);
        auto captured = std::min(o.used, held);
        std::size_t next = 0;
        if (captured > 0) {  // the capture, with the balance after it alone
          m.b.held -= captured;
          m.b.used += captured;
          ++m.seq;
          REQUIRE(entries.size() > next);
          check_entry(entries[next++], m, ledger_kind::capture, captured, o.job, now);
        }
        if (held - captured > 0) {  // then the release of the rest
          m.b.held -= held - captured;
          m.b.available += held - captured;
          ++m.seq;
          REQUIRE(entries.size() > next);
          check_entry(entries[next++], m, ledger_kind::release, held - captured, o.job, now);
        }
        REQUIRE(entries.size() == next);
        partial_splits += next == 2;
        return entries;
      }
      if (ok) {
        amount = held;
        m.holds.erase(it);
        m.b.held -= amount;
        (o.kind == ledger_kind::capture ? m.b.used : m.b.available) += amount;
      }
      one(o.kind == ledger_kind::capture ? l.capture(o.job, "flux2-turbo", now)
                                         : l.release(o.job, "flux2-turbo", now),
          ok, o.kind);
      break;
    }
  }
  return out;
}

void check_account(const credit_ledger& l, const model_account& m,
                   const std::vector<ledger_entry>& committed) {
  const auto& b = l.balance();
  REQUIRE(l.consistent());
  REQUIRE(fields(b) == fields(m.b));
  REQUIRE(b.granted == b.available + b.held + b.used);
  REQUIRE(std::min({b.available, b.held, b.used}) >= 0);
  std::int64_t sum = 0;
  for (const auto& [job, amount] : m.holds) {
    REQUIRE(l.hold_of(job) == amount);
    sum += amount;
  }
  REQUIRE(l.open_holds() == m.holds.size());
  REQUIRE(b.held == sum);
  REQUIRE(l.last_seq() == m.seq);
  REQUIRE(fields(kiln::replay(committed)) == fields(b));
}

std::uint64_t test_seed() {
  const char* text = std::getenv("KILN_TEST_SEED");
  if (text == nullptr || *text == '\0') return 20240611;
  return std::strtoull(text, nullptr, 0);
}

}  // namespace

TEST_CASE("a hold over available (or not positive) is refused and changes nothing", "[models]") {
  credit_ledger l({10, 0, 0, 10}, {}, 4);
  auto before = snap(l);
  for (std::int64_t amount : {11, 0, -3}) CHECK_FALSE(l.hold("a", "m", amount, 1).has_value());
  CHECK(snap(l) == before);
}

TEST_CASE("a hold of exactly available succeeds and leaves nothing available", "[models]") {
  credit_ledger l({10, 0, 0, 10}, {}, 0);
  auto e = l.hold("a", "m", 10, 1);
  REQUIRE(e.has_value());
  CHECK(fields(l.balance()) == quad{0, 10, 0, 10});
  CHECK(l.hold_of("a") == 10);
  CHECK(e->available_after == 0);
  CHECK(l.consistent());
}

TEST_CASE("capture moves the held credits to used and release returns them to available",
          "[models]") {
  credit_ledger l({100, 0, 0, 100}, {}, 0);
  REQUIRE(l.hold("a", "m", 30, 1));
  REQUIRE(l.hold("b", "m", 20, 2));
  REQUIRE(l.capture("a", "m", 3).value().amount == 30);
  CHECK(fields(l.balance()) == quad{50, 20, 30, 100});
  REQUIRE(l.release("b", "m", 4).value().amount == 20);
  CHECK(fields(l.balance()) == quad{70, 0, 30, 100});
  CHECK(l.open_holds() == 0);
  CHECK(l.consistent());
}

TEST_CASE("every hold is settled exactly once: a second capture or release returns nothing",
          "[models]") {
  credit_ledger l({100, 0, 0, 100}, {}, 0);
  REQUIRE(l.hold("a", "m", 10, 1));
  REQUIRE(l.hold("b", "m", 10, 1));
  REQUIRE(l.capture("a", "m", 2));
  REQUIRE(l.release("b", "m", 2));
  auto before = snap(l);
  for (const std::string job : {"a", "b", "never-held"}) {
    CHECK_FALSE(l.capture(job, "m", 3).has_value());
    CHECK_FALSE(l.release(job, "m", 3).has_value());
  }
  CHECK(snap(l) == before);
}

TEST_CASE("a hold for a job that already has one is refused", "[models]") {
  credit_ledger l({100, 0, 0, 100}, {}, 0);
  REQUIRE(l.hold("a", "m", 10, 1));
  auto before = snap(l);
  CHECK_FALSE(l.hold("a", "m", 5, 2).has_value());
  CHECK(snap(l) == before);
  CHECK(l.hold_of("a") == 10);
}

TEST_CASE("each entry records the available balance after it and the next seq", "[models]") {
  credit_ledger l({5, 0, 0, 5}, {}, 7);
  std::vector<ledger_entry> entries{l.grant(50, "top-up", 1), *l.hold("a", "m", 20, 2),
                                    *l.hold("b", "m", 15, 3), *l.capture("a", "m", 4),
                                    *l.release("b", "m", 5)};
  CHECK(entries.back().available_after == l.balance().available);
  std::vector<std::int64_t> after{55, 35, 20, 20, 35};
  for (std::size_t i = 0; i < entries.size(); ++i) {
    CHECK(entries[i].seq == 8 + i);
    CHECK(entries[i].available_after == after[i]);
  }
  CHECK(l.last_seq() == 12);
  CHECK(entries[0].reason == "top-up");
  CHECK(entries[0].job_id.empty());
  CHECK(entries[1].model == "m");
}

TEST_CASE("undo of each kind restores the exact previous balance, holds and last_seq", "[models]") {
  credit_ledger l({40, 10, 5, 55}, {{"c", 10}}, 3);
  auto check_undo = [&](auto&& move) {
    auto before = snap(l);
    std::optional<ledger_entry> e = move();
    REQUIRE(e.has_value());
    CHECK_FALSE(snap(l) == before);
    l.undo(*e);
    CHECK(snap(l) == before);
    CHECK(l.consistent());
  };
  SECTION("grant") {
    check_undo([&] { return std::optional(l.grant(25, "x", 1)); });
  }
  SECTION("hold") {
    check_undo([&] { return l.hold("a", "m", 40, 1); });
  }
  SECTION("capture") {
    check_undo([&] { return l.capture("c", "m", 1); });
  }
  SECTION("release") {
    check_undo([&] { return l.release("c", "m", 1); });
  }
}

TEST_CASE("replay of no entries is an all-zero balance", "[models]") {
  CHECK(fields(kiln::replay({})) == quad{0, 0, 0, 0});
}

TEST_CASE("replay applies each kind of entry", "[models]") {
  auto entry = [](ledger_kind kind, std::int64_t amount) {
    return ledger_entry{"led_x", 1, 0, kind, amount, "job", "m", "", 0};
  };
  std::vector<ledger_entry> entries{entry(ledger_kind::grant, 100)};
  CHECK(fields(kiln::replay(entries)) == quad{100, 0, 0, 100});
  entries.push_back(entry(ledger_kind::hold, 30));
  CHECK(fields(kiln::replay(entries)) == quad{70, 30, 0, 100});
  entries.push_back(entry(ledger_kind::hold, 20));
  entries.push_back(entry(ledger_kind::capture, 30));
  CHECK(fields(kiln::replay(entries)) == quad{50, 20, 30, 100});
  entries.push_back(entry(ledger_kind::release, 20));
  CHECK(fields(kiln::replay(entries)) == quad{70, 0, 30, 100});
}

TEST_CASE("random movements, failed writes and restarts keep every ledger equal to a model",
          "[models]") {
  const std::uint64_t seed = test_seed();
  CAPTURE(seed);  // rerun with KILN_TEST_SEED=<seed>
  std::mt19937_64 rng(seed);
  auto pick = [&](std::int64_t lo, std::int64_t hi) {
    return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
  };
  constexpr int accounts = 8;
  constexpr int steps = 20000;
  std::vector<credit_ledger> ledgers(accounts);
  std::vector<model_account> models(accounts);
  std::vector<std::vector<ledger_entry>> committed(accounts);
  std::vector<std::vector<std::string>> jobs(accounts);  // every job id ever submitted
  std::int64_t now = 1'700'000'000'000;

  // A random grant, submit, complete, fail or cancel for account `a`.
  auto random_op = [&](int a) {
    auto& m = models[a];
    auto r = pick(0, 99);
    if (r < 15) return op{ledger_kind::grant, {}, pick(1, 120)};
    if (r < 55) {
      std::string job = (pick(0, 9) == 0 && !jobs[a].empty())
                          ? jobs[a][pick(0, jobs[a].size() - 1)]  // a duplicate or settled id
                          : "job_" + std::to_string(a) + "_" + std::to_string(jobs[a].size());
      jobs[a].push_back(job);
      return op{ledger_kind::hold, job, pick(1, 80)};
    }
    std::string job = "never-submitted";
    if (!m.holds.empty() && pick(0, 3) != 0)
      job = std::next(m.holds.begin(), pick(0, m.holds.size() - 1))->first;
    else if (!jobs[a].empty()) job = jobs[a][pick(0, jobs[a].size() - 1)];
    if (r < 68) return op{ledger_kind::capture, job, 0, pick(0, 90)};  // partial (or all)
    return op{r < 78 ? ledger_kind::capture : ledger_kind::release, job, 0};
  };

  for (int step = 0; step < steps; ++step) {
    const int a = static_cast<int>(pick(0, accounts - 1));
    auto& l = ledgers[a];
    auto& m = models[a];
    auto& log = committed[a];
    const auto r = pick(0, 99);
    CAPTURE(step, a, r);
    ++now;
    if (r < 85) {  // one movement, committed
      for (auto& e : run_op(l, m, random_op(a), now)) log.push_back(e);
    } else if (r < 95) {  // a batch of 1..5 movements whose write fails: undo in reverse
      std::vector<model_account> before;
      std::vector<std::vector<ledger_entry>> group;
      for (auto n = pick(1, 5); n > 0; --n) {
        auto saved = m;
        auto entries = run_op(l, m, random_op(a), now);
        if (!entries.empty()) {
          before.push_back(std::move(saved));
          for (auto& e : entries) log.push_back(e);  // visible until the undo
          group.push_back(std::move(entries));
        }
        check_account(l, m, log);
      }
      while (!group.empty()) {  // the actor's rollback: newest first, entry by entry
        for (auto e = group.back().rbegin(); e != group.back().rend(); ++e) {
          l.undo(*e);
          log.pop_back();
        }
        m = before.back();
        group.pop_back(), before.pop_back();
        check_account(l, m, log);
      }
    } else {  // restart: rebuild from the stored balance, open holds and last_seq
      std::unordered_map<std::string, std::int64_t> holds(m.holds.begin(), m.holds.end());
      const std::uint64_t last_seq = log.empty() ? 0 : log.back().seq;
      credit_ledger rebuilt(kiln::replay(log), std::move(holds), last_seq);
      REQUIRE(fields(rebuilt.balance()) == fields(l.balance()));
      REQUIRE(rebuilt.last_seq() == l.last_seq());
      l = std::move(rebuilt);  // check_account below compares its holds with the model's
    }
    for (int b = 0; b < accounts; ++b) {
      CAPTURE(b);
      check_account(ledgers[b], models[b], committed[b]);
      if (!committed[b].empty()) REQUIRE(committed[b].back().seq == committed[b].size());
    }
  }
  std::map<ledger_kind, int> kinds;  // the run really exercised every kind of movement
  for (const auto& log : committed)
    for (const auto& e : log) ++kinds[e.kind];
  for (const auto& [kind, count] : kinds) CHECK(count > steps / 20);
  CHECK(kinds.size() == 4);
  CHECK(partial_splits > steps / 50);  // and partial captures, split into capture + release
}

TEST_CASE("undoing a movement that is not the latest aborts", "[models]") {
  auto died = kiln::test::run_to_death([] {
    kiln::credit_ledger l;
    auto first = l.grant(10, "a", 1);
    l.grant(5, "b", 2);
    l.undo(first);  // the second is still applied
  });
  CHECK(died.aborted);
  CHECK(died.stderr_text.find("movements are undone newest first") != std::string::npos);
  auto reopened = kiln::test::run_to_death([] {
    kiln::credit_ledger l;
    l.grant(10, "a", 1);
    auto hold = l.hold("job_1", "m", 4, 2);
    auto release = l.release("job_1", "m", 3);
    l.undo(*release);
    l.undo(*release);  // the hold is open again: a second undo of its release is a bug
  });
  CHECK(reopened.aborted);
}
