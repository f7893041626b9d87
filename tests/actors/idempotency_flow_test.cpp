// Idempotency keys through the real account and owner actors and the store, on the manual clock:
// waiters at the owner, a failed first request that frees the key, expiry and reclamation.
#include <catch2/catch.hpp>

#include "persistence/records.hpp"
#include "tests/actors/actor_node.hpp"

#include <chrono>
#include <string>
#include <variant>
#include <vector>

using namespace kiln;
using namespace kiln::test;
using namespace std::chrono_literals;

namespace {

const char* const flux_1 = R"({"type":"image","model":"flux2-turbo","prompt":"a kiln"})";
const char* const flux_other = R"({"type":"image","model":"flux2-turbo","prompt":"a barn"})";

idempotency_claim claim(const std::string& key, const char* body) {
  return {key, request_fingerprint("POST", "/v1/jobs", body)};
}

std::size_t rows(const store& db, column family, const std::string& prefix) {
  std::size_t count = 0;
  auto failed = db.scan(family, prefix, [&](std::string_view, std::string_view) {
    ++count;
    return true;
  });
  REQUIRE_FALSE(failed);
  return count;
}

/// Sends every request before waiting for any answer, so they all reach the account while the
/// first one's group is still being written.
std::vector<std::variant<submitted, caf::error>> submit_all(
  actor_node& node, const principal& who,
  const std::vector<std::pair<const char*, std::string>>& requests) {
  caf::scoped_actor self{*node.system};
  using handle = decltype(self->request(who.account, 10s, submit_atom::value, job_spec{},
                                        std::string(), idempotency_claim{}));
  std::vector<handle> handles;
  for (const auto& [body, key] : requests)
    handles.push_back(self->request(who.account, 10s, submit_atom::value, spec_from(body),
                                    std::string("trace-idem"), claim(key, body)));
  std::vector<std::variant<submitted, caf::error>> answers;
  for (auto& handle : handles)
    handle.receive([&](submitted& value) { answers.emplace_back(std::move(value)); },
                   [&](caf::error& error) { answers.emplace_back(std::move(error)); });
  return answers;
}

error_code code_of(const std::variant<submitted, caf::error>& answer) {
  if (!std::holds_alternative<caf::error>(answer)) return error_code::server_error;
  return to_api_error(std::get<caf::error>(answer)).code;
}

}  // namespace

TEST_CASE(
  "Requests that arrive while a key's first request is written wait for it and get its "
  "answer",
  "[actors][idempotency]") {
  actor_node node;
  auto who = node.authenticate(node.create_account("pro", 100).api_key_plain);
  std::vector<std::pair<const char*, std::string>> requests(20, {flux_1, "same"});
  requests.insert(requests.begin() + 10, {flux_other, "same"});

  auto answers = submit_all(node, who, requests);

  REQUIRE(std::holds_alternative<submitted>(answers[0]));
  const auto& first = std::get<submitted>(answers[0]);
  CHECK_FALSE(first.replayed);
  for (std::size_t i = 1; i < answers.size(); ++i) {
    INFO("request " << i);
    if (i == 10) {
      CHECK(code_of(answers[i]) == error_code::idempotency_key_reused);
      continue;
    }
    REQUIRE(std::holds_alternative<submitted>(answers[i]));
    CHECK(std::get<submitted>(answers[i]).replayed);
    CHECK(std::get<submitted>(answers[i]).record.id == first.record.id);
  }
  node.settle();
  CHECK(stored_jobs(*node.db, who.account_id).size() == 1);
  auto balance = node.balance(who);
  CHECK(balance.held + balance.used == 1);
  CHECK(balance.available == 99);
}

TEST_CASE(
  "When a key's first request fails its waiters with the same request get the failure "
  "and a different request runs afresh",
  "[actors][idempotency]") {
  actor_node node;
  auto who = node.authenticate(node.create_account("pro", 100).api_key_plain);
  node.settle();
  node.db->fail_next_writes(1);
  auto answers = submit_all(node, who, {{flux_1, "k"}, {flux_1, "k"}, {flux_other, "k"}});

  CHECK(code_of(answers[0]) == error_code::unavailable);
  // The second request waits for the first and shares its failure, unless (a loaded machine
  // delays the test's second send) it arrives once the failure freed the key: then it is a
  // first request itself and succeeds, and the different third one is refused (422).
  bool second_waited = std::holds_alternative<caf::error>(answers[1]);
  const char* owner = second_waited ? flux_other : flux_1;
  const char* other = second_waited ? flux_1 : flux_other;
  if (second_waited) {
    CHECK(code_of(answers[1]) == error_code::unavailable);
    REQUIRE(std::holds_alternative<submitted>(answers[2]));
    CHECK_FALSE(std::get<submitted>(answers[2]).replayed);
    CHECK(std::get<submitted>(answers[2]).record.spec.prompt == "a barn");
  } else {
    CHECK_FALSE(std::get<submitted>(answers[1]).replayed);
    CHECK(code_of(answers[2]) == error_code::idempotency_key_reused);
  }

  // The key now belongs to the request that succeeded.
  auto again = node.submit_keyed(who, spec_from(other), claim("k", other));
  CHECK(code_of(again) == error_code::idempotency_key_reused);
  auto replay = node.submit_keyed(who, spec_from(owner), claim("k", owner));
  REQUIRE(std::holds_alternative<submitted>(replay));
  CHECK(std::get<submitted>(replay).replayed);
  node.settle();
  CHECK(stored_jobs(*node.db, who.account_id).size() == 1);
}

TEST_CASE("A refused request binds nothing", "[actors][idempotency]") {
  actor_node node;
  auto who = node.authenticate(node.create_account("pro", 0).api_key_plain);
  CHECK(code_of(node.submit_keyed(who, spec_from(flux_1), claim("k", flux_1))) ==
        error_code::insufficient_credits);
  REQUIRE(std::holds_alternative<grant_result>(node.grant(who, 3, "top-up")));
  auto created = node.submit_keyed(who, spec_from(flux_1), claim("k", flux_1));
  REQUIRE(std::holds_alternative<submitted>(created));
  CHECK_FALSE(std::get<submitted>(created).replayed);
}

TEST_CASE("On the test clock a key expires after its TTL and the sweep reclaims its storage",
          "[actors][idempotency]") {
  actor_node node;
  const auto ttl_ms = static_cast<std::int64_t>(node.config.jobs.idempotency_ttl_s) * 1000;
  auto who = node.authenticate(node.create_account("pro", 100).api_key_plain);
  auto first = node.submit_keyed(who, spec_from(flux_1), claim("daily", flux_1));
  REQUIRE(std::holds_alternative<submitted>(first));
  node.time->advance(std::chrono::milliseconds(ttl_ms / 2));
  auto second = node.submit_keyed(who, spec_from(flux_1), claim("later", flux_1));
  REQUIRE(std::holds_alternative<submitted>(second));

  node.time->advance(std::chrono::milliseconds(ttl_ms / 2 - 1));  // 1 ms before "daily" expires
  auto replay = node.submit_keyed(who, spec_from(flux_1), claim("daily", flux_1));
  REQUIRE(std::holds_alternative<submitted>(replay));
  CHECK(std::get<submitted>(replay).replayed);

  node.time->advance(1ms);
  auto sweep = [&] {
    caf::anon_send(who.account, sweep_atom::value);
    node.balance(who);  // the account handled the sweep before answering this
    node.settle();      // and its deletes are on disk
  };
  sweep();
  const auto prefix = records::account_job_prefix(who.account_id);
  CHECK(rows(*node.db, column::idempotency, prefix) == 1);  // "later" only
  CHECK(rows(*node.db, column::idempotency_expiry, prefix) == 1);

  auto fresh = node.submit_keyed(who, spec_from(flux_1), claim("daily", flux_1));
  REQUIRE(std::holds_alternative<submitted>(fresh));
  CHECK_FALSE(std::get<submitted>(fresh).replayed);
  CHECK(std::get<submitted>(fresh).record.id != std::get<submitted>(first).record.id);

  // "later" expires; "daily" was bound again and stays until its new expiry.
  node.time->advance(std::chrono::milliseconds(ttl_ms / 2));
  sweep();
  CHECK(rows(*node.db, column::idempotency, prefix) == 1);
  CHECK(rows(*node.db, column::idempotency_expiry, prefix) == 1);
  auto still = node.submit_keyed(who, spec_from(flux_1), claim("daily", flux_1));
  REQUIRE(std::holds_alternative<submitted>(still));
  CHECK(std::get<submitted>(still).replayed);
  CHECK(std::get<submitted>(still).record.id == std::get<submitted>(fresh).record.id);

  node.time->advance(std::chrono::milliseconds(ttl_ms));
  sweep();
  CHECK(rows(*node.db, column::idempotency, prefix) == 0);
  CHECK(rows(*node.db, column::idempotency_expiry, prefix) == 0);
}

TEST_CASE("A keyed grant replays its entry and waiters get the first grant's answer",
          "[actors][idempotency]") {
  actor_node node;
  auto who = node.authenticate(node.create_account("pro", 0).api_key_plain);
  auto first = node.grant(who, 25, "top-up", "g-1");
  REQUIRE(std::holds_alternative<grant_result>(first));
  CHECK_FALSE(std::get<grant_result>(first).replayed);
  auto replay = node.grant(who, 25, "top-up", "g-1");
  REQUIRE(std::holds_alternative<grant_result>(replay));
  CHECK(std::get<grant_result>(replay).replayed);
  CHECK(std::get<grant_result>(replay).entry.id == std::get<grant_result>(first).entry.id);
  auto other = node.grant(who, 26, "top-up", "g-1");
  REQUIRE(std::holds_alternative<caf::error>(other));
  CHECK(to_api_error(std::get<caf::error>(other)).code == error_code::idempotency_key_reused);
  // A job request with a grant's key is a different request.
  auto job_with_it = node.submit_keyed(who, spec_from(flux_1), claim("g-1", flux_1));
  CHECK(code_of(job_with_it) == error_code::idempotency_key_reused);
  CHECK(node.balance(who).granted == 25);
}
