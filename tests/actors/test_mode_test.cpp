// Test keys in the account's group commit and the scheduler's tickets: a test job holds nothing,
// is never refused for credits, settles without a ledger entry, and its ticket is sim only.
#include <catch2/catch.hpp>

#include "actors/account_ledger.hpp"
#include "actors/job_context.hpp"
#include "persistence/records.hpp"

using namespace kiln;

namespace {

account_ledger ledger_with(std::int64_t credits) {
  account a;
  a.id = "acct_1";
  a.webhook_secret = "whsec_first";
  a.balance.available = a.balance.granted = credits;
  return account_ledger(a, credit_ledger(a.balance, {}, 1), 0, {86'400'000, 3'600'000});
}

movement test_submit(const std::string& id, std::int64_t cost) {
  movement m;
  m.record.id = id;
  m.record.account_id = "acct_1";
  m.record.spec.model = "flux2-turbo";
  m.record.spec.cost = cost;
  m.record.spec.livemode = false;
  return m;
}

std::size_t writes_to(const write_batch& batch, column family) {
  std::size_t n = 0;
  for (const auto& op : batch.ops) n += op.family == family;
  return n;
}

}  // namespace

TEST_CASE("a test job is accepted with no credits, holds nothing and writes no ledger entry",
          "[actors]") {
  auto l = ledger_with(0);
  l.add(test_submit("job_t", 30));
  std::vector<refused_movement> refused;
  auto group = l.start_group(1000, refused);
  REQUIRE(group);
  CHECK(refused.empty());
  CHECK(writes_to(group->batch, column::jobs) == 1);
  CHECK(writes_to(group->batch, column::ledger) == 0);
  auto landed = l.written(group->id);
  REQUIRE(landed.size() == 1);
  CHECK_FALSE(landed[0].entry);
  CHECK(landed[0].m.record.seq == 1);
  CHECK(landed[0].m.record.credits_held == 0);
  CHECK(landed[0].m.record.credits_held_monthly == 0);
  CHECK(landed[0].m.record.spec.cost == 30);  // the price is still known
  CHECK(l.durable() == balance{});
}

TEST_CASE("a test job's settlement finds no hold and writes only the job's own records",
          "[actors]") {
  auto l = ledger_with(10);
  l.add(test_submit("job_t", 6));
  std::vector<refused_movement> refused;
  auto first = l.start_group(1000, refused);
  REQUIRE(first);
  l.written(first->id);
  for (bool capture : {true, false}) {
    movement m;
    m.what = movement::kind::settle;
    m.settlement.job_id = "job_t";
    m.settlement.model = "flux2-turbo";
    m.settlement.capture = capture;
    job done;
    done.id = "job_t";
    done.account_id = "acct_1";
    done.status = capture ? job_status::succeeded : job_status::canceled;
    done.spec.livemode = false;
    m.settlement.writes = records::job_batch(done, &done);
    auto job_writes = m.settlement.writes.ops.size();
    l.add(std::move(m));
    auto group = l.start_group(2000, refused);
    REQUIRE(group);
    CHECK(refused.empty());
    CHECK(writes_to(group->batch, column::ledger) == 0);
    CHECK(group->batch.ops.size() == job_writes + 1);  // and the account record
    auto landed = l.written(group->id);
    REQUIRE(landed.size() == 1);
    CHECK_FALSE(landed[0].entry);
    CHECK(l.durable().available == 10);
    CHECK(l.durable().held == 0);
    CHECK(l.durable().used == 0);
  }
}

TEST_CASE("a live job beside a test job still pays, and a short balance still refuses it",
          "[actors]") {
  auto l = ledger_with(5);
  movement live = test_submit("job_live", 4);
  live.record.spec.livemode = true;
  live.record.credits_held = 4;
  movement short_live = test_submit("job_short", 4);
  short_live.record.spec.livemode = true;
  short_live.record.credits_held = 4;
  l.add(test_submit("job_t", 100));
  l.add(std::move(live));
  l.add(std::move(short_live));
  std::vector<refused_movement> refused;
  auto group = l.start_group(1000, refused);
  REQUIRE(group);
  REQUIRE(refused.size() == 1);
  CHECK(refused[0].m.record.id == "job_short");
  CHECK(writes_to(group->batch, column::ledger) == 1);
  l.written(group->id);
  CHECK(l.durable().available == 1);
  CHECK(l.durable().held == 4);
}

TEST_CASE("a test job's ticket is for simulators only, wherever the ticket is made", "[actors]") {
  job record;
  record.id = "job_1";
  record.account_id = "acct_1";
  record.spec.model = "flux2-turbo";
  CHECK_FALSE(ticket_for(record, 4, dispatch_target_actor{}).sim_only);
  record.spec.livemode = false;
  auto ticket = ticket_for(record, 4, dispatch_target_actor{}, {"gpu-0"});
  CHECK(ticket.sim_only);
  CHECK(ticket.failed_on == std::vector<std::string>{"gpu-0"});
  CHECK(ticket.max_concurrent_jobs == 4);
}
