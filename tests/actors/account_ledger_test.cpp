// The account's group commit as a plain class: what a group writes, what it refuses, and that a
// failed write undoes every group in flight exactly, rotations included.
#include <catch2/catch.hpp>

#include "actors/account_ledger.hpp"
#include "persistence/records.hpp"
#include "tests/support/death.hpp"

using namespace kiln;

namespace {

account funded(std::int64_t credits) {
  account a;
  a.id = "acct_1";
  a.webhook_secret = "whsec_first";
  a.balance.available = a.balance.granted = credits;
  return a;
}

account_ledger ledger_with(std::int64_t credits) {
  auto a = funded(credits);
  return account_ledger(a, credit_ledger(a.balance, {}, 1), 0, {86'400'000, 3'600'000});
}

movement submit(const std::string& id, std::int64_t cost) {
  movement m;
  m.record.id = id;
  m.record.account_id = "acct_1";
  m.record.spec.model = "flux2-turbo";
  m.record.spec.cost = cost;
  m.record.credits_held = cost;
  return m;
}

movement rotate() {
  movement m;
  m.what = movement::kind::rotate;
  return m;
}

std::size_t writes_to(const write_batch& batch, column family) {
  std::size_t n = 0;
  for (const auto& op : batch.ops) n += op.family == family;
  return n;
}

}  // namespace

TEST_CASE(
  "a group writes each accepted job with its hold and the account once, and refuses what "
  "the balance cannot cover",
  "[actors]") {
  auto l = ledger_with(10);
  l.add(submit("job_a", 6));
  l.add(submit("job_b", 6));  // 4 left after the first
  l.add(submit("job_c", 4));
  std::vector<refused_movement> refused;
  auto group = l.start_group(1000, refused);
  REQUIRE(group);
  REQUIRE(refused.size() == 1);
  CHECK(refused[0].m.record.id == "job_b");
  CHECK(has_code(refused[0].why, error_code::insufficient_credits));
  CHECK(writes_to(group->batch, column::jobs) == 2);
  CHECK(writes_to(group->batch, column::account_jobs) == 2);
  CHECK(writes_to(group->batch, column::ledger) == 2);
  CHECK(writes_to(group->batch, column::accounts) == 1);
  CHECK(l.durable().available == 10);  // nothing is durable before the write lands
  auto landed = l.written(group->id);
  REQUIRE(landed.size() == 2);
  CHECK(landed[0].m.record.seq == 1);
  CHECK(landed[1].m.record.seq == 2);
  CHECK(landed[1].entry->kind == ledger_kind::hold);
  CHECK(l.durable().available == 0);
  CHECK(l.durable().held == 10);
}

TEST_CASE("a failed write undoes every group in flight, rotations and job numbers included",
          "[actors]") {
  auto l = ledger_with(10);
  std::vector<refused_movement> refused;
  l.add(submit("job_a", 3));
  auto first = l.start_group(1000, refused);
  l.add(rotate());
  l.add(submit("job_b", 3));
  auto second = l.start_group(1001, refused);
  REQUIRE(first);
  REQUIRE(second);
  CHECK(l.record().webhook_secret != "whsec_first");
  auto undone = l.failed(first->id);
  CHECK(undone.size() == 3);
  CHECK(l.failed(second->id).empty());  // undone with the first
  CHECK(l.record().webhook_secret == "whsec_first");
  CHECK(l.record().balance == funded(10).balance);
  CHECK(l.durable() == funded(10).balance);
  l.add(submit("job_c", 3));
  auto again = l.start_group(1002, refused);
  REQUIRE(again);
  CHECK(l.written(again->id).front().m.record.seq == 1);  // the undone numbers are reused
}

TEST_CASE("a group reported written out of order aborts", "[actors]") {
  auto died = kiln::test::run_to_death([] {
    auto l = ledger_with(10);
    std::vector<refused_movement> refused;
    l.add(submit("job_a", 1));
    auto first = l.start_group(1000, refused);
    l.add(submit("job_b", 1));
    auto second = l.start_group(1001, refused);
    l.written(second->id);
  });
  CHECK(died.aborted);
  CHECK(died.stderr_text.find("groups land in the order they were sent") != std::string::npos);
}
