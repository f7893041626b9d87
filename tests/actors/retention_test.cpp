// Output retention on a manual clock, with the real actors and store (issue 17): jobs finish at
// random times, the clock moves in random steps, sweeps run, jobs are soft-deleted and the node
// restarts; after every sweep no job inside its window has lost a file, and every job past it
// since the sweep before has its files gone and says so. Set KILN_TEST_SEED to replay a run.
#include <catch2/catch.hpp>

#include "tests/actors/actor_node.hpp"

#include "persistence/output_expiry.hpp"
#include "persistence/output_files.hpp"
#include "persistence/records.hpp"

#include <cstdlib>
#include <filesystem>
#include <map>
#include <random>

using namespace std::chrono_literals;
using kiln::test::actor_node;
using kiln::test::node_options;
using kiln::test::spec_from;

namespace kiln {
namespace {

constexpr std::int64_t day_ms = 86'400'000;

std::uint64_t test_seed() {
  const char* text = std::getenv("KILN_TEST_SEED");
  if (text == nullptr || *text == '\0') return 20261207;
  return std::strtoull(text, nullptr, 0);
}

std::uint64_t sweep(actor_node& node) {
  caf::scoped_actor self{*node.system};
  std::uint64_t expired = 0;
  std::string failure;
  self->request(node.retention, 30s, sweep_atom::value)
    .receive([&](std::uint64_t count) { expired = count; },
             [&](caf::error& error) { failure = node.system->render(error); });
  INFO("sweep: " << failure);
  REQUIRE(failure.empty());
  return expired;
}

std::variant<job, caf::error> soft_delete(actor_node& node, const principal& who,
                                          const std::string& id) {
  caf::scoped_actor self{*node.system};
  std::variant<job, caf::error> answer = caf::error{};
  self->request(who.jobs, 10s, delete_atom::value, id)
    .receive([&](job& value) { answer = std::move(value); },
             [&](caf::error& error) { answer = std::move(error); });
  return answer;
}

bool file_exists(const actor_node& node, const std::string& name) {
  return std::filesystem::exists(output_files::path_of(node.devices.files_dir, name));
}

bool has_expiry_key(const actor_node& node, const job& j) {
  return test::stored(*node.db, column::output_expiry, output_expiry::key(j.completed_at_ms, j.id))
    .has_value();
}

/// What the test knows of a succeeded job.
struct tracked {
  std::string id;
  std::int64_t completed_at_ms = 0;
  std::vector<std::string> files;
  bool deleted = false;
};

/// Checks every tracked job against the window at `now`: one inside it has lost nothing (a
/// sweep may run at any moment, so this holds at any time); one due by `before` (an explicit
/// sweep before the last) must be expired, with all of its files gone.
void check_jobs(const actor_node& node, const std::map<std::string, tracked>& jobs,
                std::int64_t retention_ms, std::int64_t now, std::int64_t before) {
  for (const auto& [id, t] : jobs) {
    auto record = test::stored_job(*node.db, id);
    INFO("job " << id << " completed at " << t.completed_at_ms << ", now " << now);
    REQUIRE(record.has_value());
    CHECK((record->deleted_at_ms != 0) == t.deleted);
    bool inside = t.completed_at_ms + retention_ms > now;
    if (inside) {  // nothing of it may have gone
      CHECK(record->outputs_expired_at_ms == 0);
      for (const auto& file : t.files) CHECK(file_exists(node, file));
      CHECK(has_expiry_key(node, *record));
      continue;
    }
    if (record->outputs_expired_at_ms != 0) {  // expired: all of it, and only once due
      CHECK(record->outputs_expired_at_ms >= t.completed_at_ms + retention_ms);
      for (const auto& file : t.files) CHECK_FALSE(file_exists(node, file));
      CHECK_FALSE(has_expiry_key(node, *record));
      CHECK(record->outputs.size() == t.files.size());
    } else {
      CHECK(t.completed_at_ms + retention_ms > before);  // due only since the sweep before
    }
  }
}

}  // namespace

TEST_CASE("retention deletes the files of jobs past their window and never those inside it",
          "[actors][retention]") {
  auto seed = test_seed();
  INFO("KILN_TEST_SEED=" << seed);
  std::mt19937_64 random(seed);
  auto pick = [&](std::int64_t low, std::int64_t high) {
    return std::uniform_int_distribution<std::int64_t>(low, high)(random);
  };
  test::temp_dir root;
  node_options options;
  options.retention_days = static_cast<std::uint32_t>(pick(1, 3));
  std::int64_t retention_ms = options.retention_days * day_ms;
  auto node = std::make_unique<actor_node>(options, root.path());
  auto created = node->create_account("pro", 1'000'000);
  auto who = node->authenticate(created.api_key_plain);

  std::map<std::string, tracked> jobs;
  std::int64_t last_sweep = node->time->now_ms();
  std::int64_t sweep_before = last_sweep;
  std::size_t expired_total = 0;
  std::size_t restarts = 0;
  for (int step = 0; step < 120; ++step) {
    INFO("step " << step);
    auto action = pick(0, 99);
    if (action < 35) {  // jobs finish now
      auto count = pick(1, 3);
      for (std::int64_t i = 0; i < count; ++i) {
        auto submitted = node->submit(
          who, spec_from(R"({"type":"image","model":"flux2-turbo","prompt":"a harbour"})"));
        REQUIRE(std::holds_alternative<job>(submitted));
        auto done = node->wait_until_terminal(who, std::get<job>(submitted).id);
        REQUIRE(done.status == job_status::succeeded);
        REQUIRE_FALSE(done.outputs.empty());
        tracked t{done.id, done.completed_at_ms, {}, false};
        for (const auto& o : done.outputs) t.files.push_back(o.file);
        jobs[done.id] = std::move(t);
      }
    } else if (action < 65) {  // time passes: mostly hours, now and then days
      auto by = action < 58 ? pick(0, day_ms / 2) : pick(day_ms / 2, 3 * day_ms);
      node->time->advance(std::chrono::milliseconds(by));
    } else if (action < 85) {
      expired_total += sweep(*node);
      sweep_before = last_sweep;
      last_sweep = node->time->now_ms();
      check_jobs(*node, jobs, retention_ms, last_sweep, sweep_before);
    } else if (action < 95 && !jobs.empty()) {  // a soft delete, which retention ignores
      auto it = jobs.begin();
      std::advance(it, pick(0, static_cast<std::int64_t>(jobs.size()) - 1));
      if (it->second.deleted) continue;
      auto deleted = soft_delete(*node, who, it->first);
      // A job being expired at this moment (by the minute's sweep) answers unavailable.
      if (std::holds_alternative<job>(deleted)) it->second.deleted = true;
    } else {  // a restart on the same data: nothing lost, nothing expired early
      auto now = node->time->now_ms();
      node.reset();
      node = std::make_unique<actor_node>(options, root.path());
      node->time->advance(std::chrono::milliseconds(now - node->time->now_ms()));
      who = node->authenticate(created.api_key_plain);
      ++restarts;
      check_jobs(*node, jobs, retention_ms, node->time->now_ms(), sweep_before);
    }
  }
  // The end: far past every window, one sweep expires the rest.
  node->time->advance(std::chrono::milliseconds(retention_ms + day_ms));
  sweep(*node);
  sweep_before = last_sweep = node->time->now_ms();
  check_jobs(*node, jobs, retention_ms, last_sweep, sweep_before);
  std::vector<output_expiry::entry> left;
  REQUIRE_FALSE(output_expiry::due(*node->db, last_sweep + day_ms, 10'000, left));
  CHECK(left.empty());
  INFO("jobs " << jobs.size() << ", restarts " << restarts << ", expired " << expired_total);
  CHECK(jobs.size() > 0);
}

TEST_CASE("an expired job keeps its record and outputs' description, without files",
          "[actors][retention]") {
  node_options options;
  options.retention_days = 1;
  actor_node node(options);
  auto created = node.create_account("pro", 10'000);
  auto who = node.authenticate(created.api_key_plain);
  auto submitted =
    node.submit(who, spec_from(R"({"type":"image","model":"flux2-turbo","prompt":"a mill"})"));
  REQUIRE(std::holds_alternative<job>(submitted));
  auto done = node.wait_until_terminal(who, std::get<job>(submitted).id);
  REQUIRE(done.status == job_status::succeeded);
  REQUIRE(file_exists(node, done.outputs.front().file));
  REQUIRE(has_expiry_key(node, done));

  node.time->advance(std::chrono::milliseconds(day_ms - 1));
  CHECK(sweep(node) == 0);
  CHECK(file_exists(node, done.outputs.front().file));
  node.time->advance(1ms);
  CHECK(sweep(node) == 1);
  auto expired = node.get_job(who, done.id);
  CHECK(expired.outputs_expired_at_ms == node.time->now_ms());
  CHECK(expired.outputs.size() == done.outputs.size());
  CHECK_FALSE(file_exists(node, done.outputs.front().file));
  CHECK_FALSE(has_expiry_key(node, done));
  CHECK(sweep(node) == 0);  // nothing left to do
  auto page = node.list_jobs(who);
  REQUIRE(page.data.size() == 1);
  CHECK(page.data.front().outputs_expired_at_ms == expired.outputs_expired_at_ms);
}

}  // namespace kiln
