// Idempotency-Key on POST /v1/jobs against the real binary: concurrent retries make one job and
// one hold, a different request with the key is refused, failures bind nothing, keys survive a
// SIGKILL and expire after their TTL.
#include "tests/support/e2e.hpp"
#include "tests/support/ledger_e2e.hpp"

#include <catch2/catch.hpp>

#include <csignal>
#include <latch>
#include <map>
#include <mutex>
#include <set>
#include <thread>

using namespace kiln::test;

namespace {

const std::string job = R"({"type":"image","model":"flux2-turbo","prompt":"one kiln","n":1})";

std::string error_code_of(const http_response& response) {
  return json::parse(response.body)["/error/code"].str();
}

std::size_t holds_in(const std::vector<json>& ledger) {
  std::size_t holds = 0;
  for (const auto& entry : ledger) holds += entry["kind"].str() == "hold";
  return holds;
}

/// Sends `bodies[i]` from thread i, all released at once; the answers in thread order.
std::vector<http_response> concurrently(test_server& server, const std::string& api_key,
                                        const std::vector<std::string>& bodies,
                                        const std::string& idempotency_key) {
  std::latch start(static_cast<std::ptrdiff_t>(bodies.size()));
  std::vector<http_response> answers(bodies.size());
  std::vector<std::thread> clients;
  for (std::size_t i = 0; i < bodies.size(); ++i)
    clients.emplace_back([&, i] {
      http_client http(server.process().port());
      http.get("/healthz");  // connected before the start line
      start.arrive_and_wait();
      answers[i] = post_keyed(http, api_key, bodies[i], idempotency_key);
    });
  for (auto& client : clients) client.join();
  return answers;
}

}  // namespace

TEST_CASE(
  "Fifty concurrent identical requests with one key make one job and one hold and get "
  "fifty identical answers",
  "[e2e][idempotency]") {
  test_server server;
  auto account = create_account(server.http(), "pro", 100);

  auto answers = concurrently(server, account.key, std::vector<std::string>(50, job), "retry-50");

  std::set<std::string> bodies, locations;
  int first = 0, replayed = 0;
  for (const auto& answer : answers) {
    INFO(answer.status << " " << answer.body);
    REQUIRE(answer.status == 201);
    bodies.insert(answer.body);
    locations.insert(answer.header("location"));
    if (answer.header("idempotent-replayed") == "true") ++replayed;
    else if (!answer.has_header("idempotent-replayed")) ++first;
  }
  CHECK(first == 1);
  CHECK(replayed == 49);
  CHECK(bodies.size() == 1);
  CHECK(locations.size() == 1);

  auto& http = server.http();
  auto jobs = all_pages(http, account.key, "/v1/jobs");
  REQUIRE(jobs.size() == 1);
  CHECK(json::parse(*bodies.begin())["id"].str() == jobs[0]["id"].str());
  auto ledger = all_pages(http, account.key, "/v1/ledger");
  CHECK(holds_in(ledger) == 1);
  wait_for_terminal(http, account.key, jobs[0]["id"].str());
  CHECK(balance_of(http, account.key) == credits{99, 0, 1, 100});

  // After the job finished, the replay still answers the first answer, not the job as it is now.
  auto later = post_keyed(http, account.key, job, "retry-50");
  CHECK(later.status == 201);
  CHECK(later.body == *bodies.begin());
  CHECK(later.header("idempotent-replayed") == "true");
  CHECK(balance_of(http, account.key) == credits{99, 0, 1, 100});
}

TEST_CASE(
  "Concurrent requests with one key and different bodies make one job and the others "
  "get idempotency_key_reused",
  "[e2e][idempotency]") {
  test_server server;
  auto account = create_account(server.http(), "pro", 100);
  std::vector<std::string> bodies;
  for (int i = 0; i < 12; ++i)
    bodies.push_back(R"({"type":"image","model":"flux2-turbo","prompt":"variant )" +
                     std::to_string(i) + R"("})");

  auto answers = concurrently(server, account.key, bodies, "one-key");

  std::vector<std::size_t> created;
  std::map<std::string, int> refused;
  for (std::size_t i = 0; i < answers.size(); ++i) {
    INFO(answers[i].status << " " << answers[i].body);
    if (answers[i].status == 201) created.push_back(i);
    else refused[std::to_string(answers[i].status) + " " + error_code_of(answers[i])] += 1;
  }
  REQUIRE(created.size() == 1);
  CHECK(refused == std::map<std::string, int>{{"422 idempotency_key_reused", 11}});
  auto& http = server.http();
  auto jobs = all_pages(http, account.key, "/v1/jobs");
  REQUIRE(jobs.size() == 1);
  CHECK(jobs[0]["prompt"].str() == "variant " + std::to_string(created[0]));
  CHECK(holds_in(all_pages(http, account.key, "/v1/ledger")) == 1);
}

TEST_CASE("A replay matches on the JSON value and never rewrites the webhook_url",
          "[e2e][idempotency]") {
  // This machine has no DNS: allowing private targets skips the submit-time lookup of the host.
  test_server server(sim_devices, R"("webhooks":{"allow_private_targets":true})");
  auto& http = server.http();
  auto account = create_account(http, "pro", 100);
  const std::string first_body =
    R"({"type":"image","model":"flux2-turbo","prompt":"hooked","webhook_url":"https://hooks.example.com/a","metadata":{"a":"1","b":"2"}})";
  const std::string reordered =
    "{ \"metadata\": {\"b\":\"2\", \"a\":\"1\"},\n  \"webhook_url\": "
    "\"https://hooks.example.com/a\","
    " \"prompt\": \"hooked\", \"model\": \"flux2-turbo\", \"type\": \"image\" }";
  const std::string other_url =
    R"({"type":"image","model":"flux2-turbo","prompt":"hooked","webhook_url":"https://evil.example.com/b","metadata":{"a":"1","b":"2"}})";

  auto first = post_keyed(http, account.key, first_body, "hooked-1");
  REQUIRE(first.status == 201);
  auto id = json::parse(first.body)["id"].str();

  auto same_value = post_keyed(http, account.key, reordered, "hooked-1", "X-Idempotency-Key");
  CHECK(same_value.status == 201);
  CHECK(same_value.header("idempotent-replayed") == "true");
  CHECK(same_value.body == first.body);

  auto rewritten = post_keyed(http, account.key, other_url, "hooked-1");
  CHECK(rewritten.status == 422);
  CHECK(error_code_of(rewritten) == "idempotency_key_reused");
  auto stored = json::parse(http.get("/v1/jobs/" + id, account.key).body);
  CHECK(stored["webhook_url"].str() == "https://hooks.example.com/a");
  CHECK(all_pages(http, account.key, "/v1/jobs").size() == 1);

  // The key belongs to this account only: another account's request with it is its own.
  auto other = create_account(http, "pro", 100);
  auto elsewhere = post_keyed(http, other.key, other_url, "hooked-1");
  CHECK(elsewhere.status == 201);
  CHECK_FALSE(elsewhere.has_header("idempotent-replayed"));
  CHECK(json::parse(elsewhere.body)["id"].str() != id);
}

TEST_CASE("A request that fails binds nothing and its key may be used again",
          "[e2e][idempotency]") {
  test_server server;
  auto& http = server.http();
  auto account = create_account(http, "pro", 0);

  // An empty key is a malformed key, not "no key" (issue "Durability and the contract's loose
  // ends", finding 3): treating it as absent made a job on every retry.
  for (const std::string& bad : {std::string(256, 'k'), std::string("tab\there"), std::string()}) {
    for (const std::string header : {"Idempotency-Key", "X-Idempotency-Key"}) {
      INFO(header << ": '" << bad << "'");
      auto malformed = post_keyed(http, account.key, job, bad, header);
      CHECK(malformed.status == 400);
      CHECK(json::parse(malformed.body)["/error/details/field"].str() == "Idempotency-Key");
    }
  }
  CHECK(all_pages(http, account.key, "/v1/jobs").empty());
  auto invalid = post_keyed(http, account.key, R"({"type":"image","model":"flux2-turbo"})", "k1");
  CHECK(invalid.status == 400);
  auto broke = post_keyed(http, account.key, job, "k1");
  CHECK(broke.status == 402);
  CHECK(error_code_of(broke) == "insufficient_credits");
  auto headers = admin_headers();
  headers.emplace_back("Content-Type", "application/json");
  REQUIRE(
    http
      .request("POST", "/admin/v1/accounts/" + account.id + "/credits", R"({"amount":5})", headers)
      .status == 201);

  auto created = post_keyed(http, account.key, job, "k1");
  CHECK(created.status == 201);
  CHECK_FALSE(created.has_header("idempotent-replayed"));
  auto again = post_keyed(http, account.key, job, "k1");
  CHECK(again.status == 201);
  CHECK(again.header("idempotent-replayed") == "true");
  CHECK(all_pages(http, account.key, "/v1/jobs").size() == 1);
  CHECK(holds_in(all_pages(http, account.key, "/v1/ledger")) == 1);
}

TEST_CASE(
  "A key survives SIGKILL right after its 201: the replay gives the same job and holds "
  "nothing",
  "[e2e][idempotency]") {
  test_server server;
  auto account = create_account(server.http(), "pro", 100);
  auto first = post_keyed(server.http(), account.key, job, "crash-1");
  REQUIRE(first.status == 201);
  server.process().kill(SIGKILL);
  server.restart();
  auto& http = server.http();

  auto replay = post_keyed(http, account.key, job, "crash-1");
  CHECK(replay.status == 201);
  CHECK(replay.header("idempotent-replayed") == "true");
  CHECK(replay.body == first.body);
  auto id = json::parse(first.body)["id"].str();
  CHECK(wait_for_terminal(http, account.key, id)["status"].str() == "succeeded");
  CHECK(balance_of(http, account.key) == credits{99, 0, 1, 100});
  CHECK(all_pages(http, account.key, "/v1/jobs").size() == 1);
}

TEST_CASE(
  "After jobs.idempotency_ttl_s a key creates a new job and its old binding is "
  "reclaimed",
  "[e2e][idempotency]") {
  test_server server(sim_devices, R"("jobs":{"idempotency_ttl_s":1})");
  auto& http = server.http();
  auto account = create_account(http, "pro", 100);
  auto first = post_keyed(http, account.key, job, "short-lived");
  REQUIRE(first.status == 201);
  CHECK(post_keyed(http, account.key, job, "short-lived").header("idempotent-replayed") == "true");

  http_response fresh;
  CHECK(eventually(
    [&] {
      fresh = post_keyed(http, account.key, job, "short-lived");
      return !fresh.has_header("idempotent-replayed");
    },
    std::chrono::seconds(5)));
  CHECK(fresh.status == 201);
  CHECK(json::parse(fresh.body)["id"].str() != json::parse(first.body)["id"].str());
  CHECK(all_pages(http, account.key, "/v1/jobs").size() == 2);

  // The sweep runs about a second after the first key expired; /metrics counts what it removed.
  CHECK(eventually(
    [&] {
      const std::string name = "\nkiln_idempotency_keys_expired_total ";
      auto metrics = http.get("/metrics").body;
      auto at = metrics.find(name);
      return at != std::string::npos && std::stoll(metrics.substr(at + name.size())) >= 1;
    },
    std::chrono::seconds(10)));
}
