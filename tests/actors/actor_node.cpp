// The actor-level test node and its store readers.
#include "tests/actors/actor_node.hpp"

#include <catch2/catch.hpp>

#include "actors/directory_actor.hpp"
#include "actors/retention_actor.hpp"
#include "actors/scheduler_actor.hpp"
#include "actors/store_reader.hpp"
#include "actors/store_writer.hpp"
#include "devices/device_actor.hpp"
#include "models/catalog.hpp"
#include "models/crypto.hpp"
#include "models/ledger.hpp"
#include "persistence/records.hpp"
#include "persistence/recovery.hpp"

#include <cstdio>
#include <cstdlib>
#include <map>
#include <random>
#include <sstream>
#include <thread>

using namespace std::chrono_literals;

namespace kiln::test {

device_settings sim_device(const std::string& id, std::uint32_t slots, std::uint32_t latency_ms) {
  device_settings sim;
  sim.id = id;
  sim.executor = "sim";
  sim.slots = slots;
  sim.latency_ms = latency_ms;
  return sim;
}

actor_node::actor_node(node_options options, std::filesystem::path root_dir) {
  if (root_dir.empty()) {
    own_dir = std::make_unique<temp_dir>();
    root_dir = own_dir->path();
  }
  root = std::move(root_dir);
  auto opened = store::open((root / "data").string(), durability_mode::fsync);
  INFO("store: " << (opened ? std::string() : describe(opened.error())));
  REQUIRE(opened);
  db = std::move(*opened);
  if (options.before_start) options.before_start(*db);
  config.devices =
    options.devices.empty() ? std::vector{sim_device("sim-0", 2, 0)} : options.devices;
  config.faults = options.faults;
  if (!options.plans.empty()) config.plans = options.plans;
  config.jobs.max_attempts = options.max_attempts;
  config.outputs.retention_days = options.retention_days;
  caf_config.set("scheduler.max-threads", std::size_t{2});
  system = std::make_unique<caf::actor_system>(caf_config);
  system->await_actors_before_shutdown(false);
  context.db = db.get();
  context.writer = spawn_store_writer(*system, db.get());
  context.faults->device_fail_rate = options.faults.device_fail_rate;
  context.faults->device_crash_rate = options.faults.device_crash_rate;
  context.faults->webhook_drop_rate = options.faults.webhook_drop_rate;
  context.scheduler = spawn_scheduler(*system, options.scheduler, time);
  context.clock = time;
  context.config = &config;
  context.models = &catalog::builtin();
  context.request_timeout = 10s;
  devices = device_context{(root / "files").string(), &config, context.faults,
                           context.scheduler,         "",      nullptr};
  std::filesystem::create_directories(devices.files_dir);
  for (const auto& device : config.devices)
    device_actors.push_back(spawn_device(*system, devices, device));
  readers = spawn_store_readers(*system, db.get(), time, 1);
  auto recovered = recover(*db, {});
  INFO("recovery: " << (recovered ? std::string() : describe(recovered.error())));
  REQUIRE(recovered);
  directory = spawn_directory(*system, context, std::move(*recovered));
  if (options.retention_days > 0)
    retention = spawn_retention(*system, context, directory, devices.files_dir);
}

actor_node::~actor_node() {
  if (retention) caf::anon_send_exit(retention, caf::exit_reason::user_shutdown);
  retention = nullptr;
  directory = nullptr;
  // The scheduler first, so that it restarts no device; then the devices, joining their output
  // threads.
  caf::anon_send_exit(context.scheduler, caf::exit_reason::user_shutdown);
  for (const auto& device : device_actors) stop_device(device);
  device_actors.clear();
  for (const auto& reader : readers) caf::anon_send_exit(reader, caf::exit_reason::user_shutdown);
  readers.clear();
  devices = device_context{};
  context = actor_context{};
  db->close();  // flushes pending commits while the actors can still receive their replies
  system.reset();
}

account_created actor_node::create_account(const std::string& plan, std::int64_t credits) {
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

void actor_node::settle() {
  caf::scoped_actor self{*system};
  bool ok = false;
  self->request(context.writer, 10s, commit_atom::value, write_batch{})
    .receive([&](caf::ok_atom) { ok = true; }, [&](caf::error&) {});
  REQUIRE(ok);
}

principal actor_node::authenticate(const std::string& plain_key) {
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

std::variant<job, caf::error> actor_node::submit(const principal& who, job_spec spec) {
  auto answer = submit_keyed(who, std::move(spec), {});
  if (auto* done = std::get_if<submitted>(&answer)) return std::move(done->record);
  return std::get<caf::error>(std::move(answer));
}

std::variant<submitted, caf::error> actor_node::submit_keyed(const principal& who, job_spec spec,
                                                             idempotency_claim claim) {
  caf::scoped_actor self{*system};
  std::variant<submitted, caf::error> answer = caf::error{};
  self
    ->request(who.account, 10s, submit_atom::value, std::move(spec), std::string("trace-flow"),
              std::move(claim))
    .receive([&](submitted& value) { answer = std::move(value); },
             [&](caf::error& error) { answer = std::move(error); });
  return answer;
}

std::variant<cancel_result, caf::error> actor_node::cancel(const principal& who,
                                                           const std::string& id) {
  caf::scoped_actor self{*system};
  std::variant<cancel_result, caf::error> answer = caf::error{};
  self->request(who.jobs, 10s, cancel_atom::value, id)
    .receive([&](cancel_result& value) { answer = std::move(value); },
             [&](caf::error& error) { answer = std::move(error); });
  return answer;
}

std::variant<grant_result, caf::error> actor_node::grant(const principal& who, std::int64_t amount,
                                                         const std::string& reason,
                                                         const std::string& key) {
  caf::scoped_actor self{*system};
  std::variant<grant_result, caf::error> answer = caf::error{};
  idempotency_claim claim;
  if (!key.empty())
    claim = {key, request_fingerprint("POST", "/grant", std::to_string(amount) + "\n" + reason)};
  self->request(who.account, 10s, grant_atom::value, amount, reason, claim)
    .receive([&](grant_result& value) { answer = std::move(value); },
             [&](caf::error& error) { answer = std::move(error); });
  return answer;
}

kiln::balance actor_node::balance(const principal& who) {
  caf::scoped_actor self{*system};
  std::string failure;
  kiln::balance result;
  self->request(who.account, 10s, balance_atom::value)
    .receive([&](kiln::balance& value) { result = value; },
             [&](caf::error& error) { failure = "balance: " + system->render(error); });
  INFO(failure);
  REQUIRE(failure.empty());
  return result;
}

job actor_node::get_job(const principal& who, const std::string& id) {
  caf::scoped_actor self{*system};
  std::string failure;
  job found;
  self->request(who.jobs, 10s, get_job_atom::value, id, std::uint32_t{0})
    .receive([&](job& value) { found = std::move(value); },
             [&](caf::error& error) { failure = "get job: " + system->render(error); });
  INFO(failure);
  REQUIRE(failure.empty());
  return found;
}

job_page actor_node::list_jobs(const principal& who) {
  caf::scoped_actor self{*system};
  std::string failure;
  job_page page;
  self
    ->request(readers.front(), 10s, list_jobs_atom::value,
              job_query{who.account_id, 100, std::nullopt, std::string()})
    .receive([&](job_page& value) { page = std::move(value); },
             [&](caf::error& error) { failure = "list jobs: " + system->render(error); });
  INFO(failure);
  REQUIRE(failure.empty());
  return page;
}

job actor_node::wait_until_terminal(const principal& who, const std::string& id) {
  job current;
  wait_for([&] {
    current = get_job(who, id);
    return is_terminal(current.status);
  });
  return current;
}

bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

job_spec spec_from(const std::string& body) {
  auto parsed = parse_job_request(body, catalog::builtin(), 99);
  REQUIRE(parsed);
  return std::move(*parsed);
}

// -- reading the store directly ---------------------------------------------------------------

std::optional<std::string> stored(const store& db, column family, std::string_view key) {
  auto bytes = db.get(family, key);
  INFO("read " << column_name(family) << " " << key << ": "
               << (bytes ? std::string() : describe(bytes.error())));
  REQUIRE(bytes);
  return *bytes;
}

std::optional<job> stored_job(const store& db, const std::string& id) {
  auto bytes = stored(db, column::jobs, id);
  return bytes ? records::decode_job(*bytes) : std::nullopt;
}

std::optional<account> stored_account(const store& db, const std::string& account_id) {
  auto bytes = stored(db, column::accounts, account_id);
  return bytes ? records::decode_account(*bytes) : std::nullopt;
}

std::vector<ledger_entry> stored_ledger(const store& db, const std::string& account_id) {
  std::vector<ledger_entry> entries;
  db.scan(column::ledger, records::account_job_prefix(account_id),
          [&](std::string_view, std::string_view value) {
            auto entry = records::decode_ledger_entry(value);
            REQUIRE(entry.has_value());
            entries.push_back(std::move(*entry));
            return true;
          });
  return entries;
}

std::vector<job> stored_jobs(const store& db, const std::string& account_id) {
  std::vector<std::string> ids;
  db.scan(column::account_jobs, records::account_job_prefix(account_id),
          [&](std::string_view, std::string_view id) {
            ids.emplace_back(id);
            return true;
          });
  std::vector<job> jobs;
  for (const auto& id : ids) {
    auto record = stored_job(db, id);
    INFO("indexed job " << id);
    REQUIRE(record.has_value());
    jobs.push_back(std::move(*record));
  }
  return jobs;
}

account_view read_account(const store& db, const std::string& account_id) {
  // Every write that moves credits puts the account record and a new ledger entry in the same
  // batch, so when neither changed across the reads, the reads saw one state of the account.
  auto marker = [&] {
    std::string last_entry;
    db.scan_reverse(column::ledger, records::account_job_prefix(account_id), {},
                    [&](std::string_view key, std::string_view) {
                      last_entry = key;
                      return false;
                    });
    return stored(db, column::accounts, account_id).value_or("") + "\n" + last_entry;
  };
  account_view view;
  bool stable = wait_for([&] {
    auto before = marker();
    auto record = stored_account(db, account_id);
    REQUIRE(record.has_value());
    view.record = std::move(*record);
    view.ledger = stored_ledger(db, account_id);
    view.jobs = stored_jobs(db, account_id);
    return marker() == before;
  });
  REQUIRE(stable);
  return view;
}

std::vector<std::string> ledger_problems(const account_view& view) {
  std::vector<std::string> problems;
  auto say = [&](const std::string& what) { problems.push_back(view.record.id + ": " + what); };
  auto text = [](const kiln::balance& b) {
    std::ostringstream out;
    out << "{available " << b.available << ", held " << b.held << ", used " << b.used
        << ", granted " << b.granted << "}";
    return out.str();
  };
  const auto& b = view.record.balance;
  if (b.granted != b.available + b.held + b.used)
    say("granted != available + held + used: " + text(b));
  if (b.available < 0 || b.held < 0 || b.used < 0) say("negative balance: " + text(b));
  if (b.monthly < 0 || b.monthly > b.available)
    say("monthly credits " + std::to_string(b.monthly) + " outside 0.." +
        std::to_string(b.available));
  auto replayed = replay(view.ledger);
  if (replayed.available != b.available || replayed.held != b.held || replayed.used != b.used ||
      replayed.granted != b.granted || replayed.monthly != b.monthly)
    say("the ledger replays to " + text(replayed) + ", the stored balance is " + text(b));
  for (std::size_t i = 0; i < view.ledger.size(); ++i)
    if (view.ledger[i].seq != i + 1)
      say("ledger entry " + std::to_string(i) + " has seq " + std::to_string(view.ledger[i].seq));

  std::map<std::string, std::vector<const ledger_entry*>> holds, settles;
  for (const auto& e : view.ledger) {
    if (e.kind == ledger_kind::grant) continue;
    (e.kind == ledger_kind::hold ? holds : settles)[e.job_id].push_back(&e);
  }
  std::int64_t open = 0;
  std::map<std::string, bool> known;
  for (const auto& j : view.jobs) {
    known[j.id] = true;
    std::string name = "job " + j.id + " (" + std::string(status_name(j.status)) + ")";
    const auto& h = holds[j.id];
    const auto& s = settles[j.id];
    if (h.size() != 1 || h[0]->amount != j.credits_held)
      say(name + " has " + std::to_string(h.size()) + " hold entries, credits_held " +
          std::to_string(j.credits_held));
    bool awaiting = !is_terminal(j.status) || (j.status == job_status::canceled &&
                                               j.credits_held > 0 && j.credits_refunded == 0);
    if (awaiting) {
      open += j.credits_held;
      if (!s.empty()) {
        std::string detail = name + " is not settled but has " + std::to_string(s.size()) +
                             " settling entries: " + records::encode(j);
        for (const auto* e : s) detail += "\n    " + records::encode(*e);
        say(detail);
      }
      continue;
    }
    if (s.size() != 1) {
      say(name + " has " + std::to_string(s.size()) + " settling entries");
      continue;
    }
    if (j.status == job_status::succeeded) {
      if (s[0]->kind != ledger_kind::capture || s[0]->amount != j.credits_used ||
          j.credits_used != j.credits_held || j.credits_refunded != 0)
        say(name + " is settled by a " + std::string(ledger_kind_name(s[0]->kind)) + " of " +
            std::to_string(s[0]->amount) + "; used " + std::to_string(j.credits_used) +
            ", refunded " + std::to_string(j.credits_refunded));
    } else if (s[0]->kind != ledger_kind::release || s[0]->amount != j.credits_refunded ||
               j.credits_refunded != j.credits_held || j.credits_used != 0) {
      say(name + " is settled by a " + std::string(ledger_kind_name(s[0]->kind)) + " of " +
          std::to_string(s[0]->amount) + "; used " + std::to_string(j.credits_used) +
          ", refunded " + std::to_string(j.credits_refunded));
    }
  }
  for (const auto& [id, entries] : holds)
    if (!entries.empty() && !known.count(id)) say("a hold for job " + id + ", which is not stored");
  for (const auto& [id, entries] : settles)
    if (!entries.empty() && !known.count(id))
      say("a settlement for job " + id + ", which is not stored");
  if (b.held != open)
    say("held is " + std::to_string(b.held) + ", the unsettled jobs hold " + std::to_string(open));
  return problems;
}

}  // namespace kiln::test
