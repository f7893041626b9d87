// Actor-level tests without HTTP: the real directory, account, job, scheduler, device and store
// writer actors over a real store in a temporary directory, wired as run_node wires them.
#include <catch2/catch.hpp>

#include "models/crypto.hpp"
#include "persistence/output_files.hpp"
#include "persistence/records.hpp"
#include "tests/actors/actor_node.hpp"

#include <chrono>
#include <filesystem>
#include <string>
#include <variant>

using namespace kiln;
using namespace std::chrono_literals;

using kiln::test::actor_node;
using kiln::test::spec_from;

TEST_CASE("a submitted job runs on a sim device to success with real output files", "[actors]") {
  actor_node node;
  auto created = node.create_account("pro", 1000);
  REQUIRE_FALSE(created.account.id.empty());
  auto who = node.authenticate(created.api_key_plain);
  CHECK(who.account_id == created.account.id);
  CHECK(who.plan == "pro");
  REQUIRE(who.account);

  auto submitted = node.submit(
    who, spec_from(R"({"type":"image","model":"seedream","prompt":"a lighthouse","n":2})"));
  REQUIRE(std::holds_alternative<job>(submitted));
  const job& queued = std::get<job>(submitted);
  CHECK(queued.id.rfind("job_", 0) == 0);
  CHECK(queued.account_id == created.account.id);
  CHECK(queued.status == job_status::queued);
  CHECK(queued.credits_held == 6);
  CHECK(queued.trace_id == "trace-flow");

  auto done = node.wait_until_terminal(who, queued.id);
  REQUIRE(done.status == job_status::succeeded);
  CHECK(done.progress == 100);
  CHECK(done.credits_used == 6);
  CHECK(done.device == "sim-0");
  CHECK(done.attempts == 1);
  CHECK_FALSE(done.error.has_value());
  REQUIRE(done.outputs.size() == 2);
  for (const auto& output : done.outputs) {
    INFO("output " << output.file);
    auto path = std::filesystem::path(output_files::path_of(node.devices.files_dir, output.file));
    REQUIRE(std::filesystem::exists(path));
    CHECK(std::filesystem::file_size(path) == output.bytes);
    CHECK(output.bytes > 0);
    CHECK(output.content_type == "image/png");
  }

  auto stored = kiln::test::stored(*node.db, column::jobs, queued.id);
  REQUIRE(stored.has_value());
  auto record = records::decode_job(*stored);
  REQUIRE(record.has_value());
  CHECK(record->status == job_status::succeeded);
  CHECK(record->outputs.size() == 2);
  CHECK(record->credits_used == 6);

  auto page = node.list_jobs(who);
  REQUIRE(page.data.size() == 1);
  CHECK(page.data[0].id == queued.id);
}

TEST_CASE("an unknown key is refused as unauthorized", "[actors]") {
  actor_node node;
  caf::scoped_actor self{*node.system};
  bool refused = false;
  self->request(node.directory, 10s, auth_atom::value, crypto::sha256_hex("kiln_sk_nope"))
    .receive(
      [&](principal&) {},
      [&](caf::error& error) { refused = to_api_error(error).code == error_code::unauthorized; });
  CHECK(refused);
}

TEST_CASE("a submit whose store write fails is unavailable and creates no job", "[actors]") {
  actor_node node;
  auto created = node.create_account("pro", 1000);
  auto who = node.authenticate(created.api_key_plain);
  REQUIRE(who.account);
  node.settle();  // so the injected failure hits the submit, not an earlier background write
  auto spec = spec_from(R"({"type":"image","model":"flux2-turbo","prompt":"x"})");

  node.db->fail_next_writes(1);
  auto failed = node.submit(who, spec);
  REQUIRE(std::holds_alternative<caf::error>(failed));
  auto error = to_api_error(std::get<caf::error>(failed));
  INFO("message: " << error.message);
  CHECK(error.code == error_code::unavailable);
  CHECK(node.list_jobs(who).data.empty());

  auto retried = node.submit(who, spec);  // the failure was transient: a retry works
  REQUIRE(std::holds_alternative<job>(retried));
  auto page = node.list_jobs(who);
  REQUIRE(page.data.size() == 1);
  CHECK(page.data[0].id == std::get<job>(retried).id);
  CHECK(node.wait_until_terminal(who, std::get<job>(retried).id).status == job_status::succeeded);
}

TEST_CASE("job timestamps and ids come from the node's clock", "[actors]") {
  actor_node node;
  auto who = node.authenticate(node.create_account("pro", 1000).api_key_plain);
  auto submitted = node.submit(
    who, spec_from(R"({"type":"image","model":"flux2-turbo","prompt":"a clock tower"})"));
  REQUIRE(std::holds_alternative<job>(submitted));
  const job& queued = std::get<job>(submitted);
  CHECK(queued.created_at_ms == 1'767'225'600'000);
  CHECK(queued.id.substr(0, 14) == crypto::make_id("job_", 1'767'225'600'000).substr(0, 14));
  auto done = node.wait_until_terminal(who, queued.id);
  CHECK(done.started_at_ms == 1'767'225'600'000);
  CHECK(done.completed_at_ms == 1'767'225'600'000);
}

TEST_CASE("a key's last use is written at most once a minute", "[actors]") {
  actor_node node;
  auto created = node.create_account("free", 0);
  auto last_used = [&] {
    caf::scoped_actor self{*node.system};
    std::int64_t at = -1;
    self->request(node.directory, 10s, list_keys_atom::value, created.account.id)
      .receive([&](std::vector<api_key>& keys) { at = keys.at(0).last_used_at_ms; },
               [&](caf::error&) {});
    return at;
  };
  node.authenticate(created.api_key_plain);
  CHECK(last_used() == 1'767'225'600'000);
  node.time->advance(30s);
  node.authenticate(created.api_key_plain);
  CHECK(last_used() == 1'767'225'600'000);
  node.time->advance(31s);
  node.authenticate(created.api_key_plain);
  CHECK(last_used() == 1'767'225'661'000);
}
