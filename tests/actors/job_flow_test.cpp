// Actor-level tests without HTTP: the real directory, account, job, scheduler, device and store
// writer actors over a real store in a temporary directory, wired as run_node wires them.
#include <catch2/catch.hpp>

#include "tests/support/kiln_process.hpp"
#include "actors/actor_context.hpp"
#include "actors/device_actor.hpp"
#include "actors/directory_actor.hpp"
#include "actors/protocol.hpp"
#include "actors/scheduler_actor.hpp"
#include "actors/store_writer.hpp"
#include "config/settings.hpp"
#include "models/catalog.hpp"
#include "models/crypto.hpp"
#include "models/job_request.hpp"
#include "persistence/records.hpp"
#include "persistence/output_files.hpp"
#include "persistence/recovery.hpp"
#include "persistence/store.hpp"

#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <variant>

using namespace kiln;
using namespace std::chrono_literals;

using kiln::test::temp_dir;

namespace {


/// A node without HTTP. Members are destroyed in reverse order: handles first, then the actor
/// system, and the store last, so no actor ever sees a destroyed store.
struct actor_node {
  temp_dir dir;
  settings config = default_settings();
  std::unique_ptr<store> db;
  caf::actor_system_config caf_config;
  std::unique_ptr<caf::actor_system> system;
  actor_context context;
  caf::actor directory;
  /// Time in these tests is the manual clock's: 2026-01-01T00:00:00Z until a test advances it.
  std::shared_ptr<manual_clock> time = std::make_shared<manual_clock>(1'767'225'600'000);

  actor_node() {
    std::string error;
    db = store::open(dir.path().string() + "/data", durability_mode::fsync, error);
    INFO("store: " << error);
    REQUIRE(db != nullptr);
    device_settings sim;
    sim.id = "sim-0";
    sim.executor = "sim";
    sim.slots = 2;
    sim.latency_ms = 0;
    config.devices = {sim};
    config.faults = {};
    caf_config.set("scheduler.max-threads", std::size_t{2});
    system = std::make_unique<caf::actor_system>(caf_config);
    system->await_actors_before_shutdown(false);
    context.db = db.get();
    context.writer = spawn_store_writer(*system, db.get());
    context.scheduler = spawn_scheduler(*system);
    context.clock = time;
    context.config = &config;
    context.models = &catalog::builtin();
    context.files_dir = dir.path().string() + "/files";
    std::filesystem::create_directories(context.files_dir);
    context.request_timeout = 10s;
    spawn_device(*system, context, sim);
    directory = spawn_directory(*system, context, recovered_state{});
  }

  ~actor_node() {
    directory = nullptr;
    context = actor_context{};
    db->close();  // flushes pending commits while the actors can still receive their replies
    system.reset();
  }

  account_created create_account(const std::string& plan, std::int64_t credits) {
    caf::scoped_actor self{*system};
    std::string failure;
    account_created created;
    self->request(directory, 10s, create_account_atom::value, std::string("flow test"), plan, credits)
      .receive([&](account_created& value) { created = std::move(value); },
               [&](caf::error& error) { failure = "create account: " + system->render(error); });
    INFO(failure);
    REQUIRE(failure.empty());
    return created;
  }

  /// Waits until every write sent to the store writer so far is on disk (the writer handles its
  /// mailbox in order and the store commits in order), e.g. the key's last-used update on auth.
  void settle() {
    caf::scoped_actor self{*system};
    bool ok = false;
    self->request(context.writer, 10s, commit_atom::value, write_batch{})
      .receive([&](caf::ok_atom) { ok = true; }, [&](caf::error&) {});
    REQUIRE(ok);
  }

  principal authenticate(const std::string& plain_key) {
    caf::scoped_actor self{*system};
    std::string failure;
    principal who;
    self->request(directory, 10s, auth_atom::value, crypto::sha256_hex(plain_key))
      .receive([&](principal& value) { who = std::move(value); },
               [&](caf::error& error) { failure = "auth: " + system->render(error); });
    INFO(failure);
    REQUIRE(failure.empty());
    return who;
  }

  /// Submits and returns the created job or the submit's error.
  std::variant<job, caf::error> submit(const principal& who, job_spec spec) {
    caf::scoped_actor self{*system};
    std::variant<job, caf::error> answer = caf::error{};
    self->request(who.account, 10s, submit_atom::value, std::move(spec), std::string("trace-flow"))
      .receive([&](job& value) { answer = std::move(value); },
               [&](caf::error& error) { answer = std::move(error); });
    return answer;
  }

  job get_job(const principal& who, const std::string& id) {
    caf::scoped_actor self{*system};
    std::string failure;
    job found;
    self->request(who.account, 10s, get_job_atom::value, id)
      .receive([&](job& value) { found = std::move(value); },
               [&](caf::error& error) { failure = "get job: " + system->render(error); });
    INFO(failure);
    REQUIRE(failure.empty());
    return found;
  }

  job_page list_jobs(const principal& who) {
    caf::scoped_actor self{*system};
    std::string failure;
    job_page page;
    self->request(who.account, 10s, list_jobs_atom::value, std::uint32_t{100}, std::string(),
                  std::string())
      .receive([&](job_page& value) { page = std::move(value); },
               [&](caf::error& error) { failure = "list jobs: " + system->render(error); });
    INFO(failure);
    REQUIRE(failure.empty());
    return page;
  }

  job wait_until_terminal(const principal& who, const std::string& id) {
    job current;
    for (int i = 0; i < 400; ++i) {
      current = get_job(who, id);
      if (is_terminal(current.status)) break;
      std::this_thread::sleep_for(25ms);
    }
    return current;
  }
};

job_spec spec_from(const std::string& body) {
  auto parsed = parse_job_request(body, catalog::builtin(), 99);
  REQUIRE(std::holds_alternative<job_spec>(parsed));
  return std::get<job_spec>(parsed);
}

}  // namespace

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
    auto path = std::filesystem::path(output_files::path_of(node.context.files_dir, output.file));
    REQUIRE(std::filesystem::exists(path));
    CHECK(std::filesystem::file_size(path) == output.bytes);
    CHECK(output.bytes > 0);
    CHECK(output.content_type == "image/png");
  }

  auto stored = node.db->get(column::jobs, queued.id);
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
    .receive([&](principal&) {},
             [&](caf::error& error) {
               refused = to_api_error(error).code == error_code::unauthorized;
             });
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
