// A disk that fills up or fails its fsyncs, under load, on faultfs (tests/faultfs): Kiln stays
// up, reads keep working, writes answer 503 (saying when their outcome is unknown), readiness
// says why, and it recovers by itself once the fault is gone; nothing acknowledged is lost, a
// keyed retry settles every unknown outcome to exactly one job and one hold, and the ledger
// replays to the balance, also after a kill -9.
#include "tests/support/e2e.hpp"
#include "tests/support/faultfs_mount.hpp"
#include "tests/support/ledger_e2e.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <csignal>
#include <map>
#include <mutex>
#include <set>
#include <thread>

using namespace kiln::test;

namespace {

/// What a load saw: the jobs it was told exist, and the keys whose submit had an unknown outcome
/// (with the body to retry them with).
struct outcomes {
  std::mutex mutex;
  std::set<std::string> acknowledged;
  std::map<std::string, std::string> unknown;  ///< Idempotency-Key -> body
  std::size_t unavailable = 0;                 ///< 503s (nothing written, or unknown)
  std::vector<std::string> failures;           ///< what the load clients' requests threw
};

/// Keyed submits until `stop`. When the server goes away under a request (it exited for its
/// supervisor, code 75), the outcome is unknown: the client follows the server to `port`, where
/// the fixture starts it again, and retries with the same key until an answer comes.
void load(const std::atomic<std::uint16_t>& port, const std::string& key, int client,
          std::atomic<bool>& stop, outcomes& seen) {
  try {
    auto http = std::make_unique<http_client>(port.load(), std::chrono::seconds(15));
    for (int i = 0; !stop.load(); ++i) {
      auto idem = "c" + std::to_string(client) + "-" + std::to_string(i);
      auto body = image_job_body("disk " + idem);
      http_response r;
      bool answered = false;
      while (!answered && !stop.load()) {
        try {
          r = post_keyed(*http, key, body, idem);
          answered = true;
        } catch (const std::exception& e) {
          {
            std::lock_guard lock(seen.mutex);
            seen.failures.push_back(e.what());
            seen.unknown.emplace(idem, body);
          }
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
          http = std::make_unique<http_client>(port.load(), std::chrono::seconds(15));
        }
      }
      if (!answered) break;
      std::lock_guard lock(seen.mutex);
      if (r.status == 201) {
        seen.acknowledged.insert(json::parse(r.body)["id"].str());
        seen.unknown.erase(idem);  // a retry's answer: the outcome is known now
      }
      if (r.status != 503) continue;
      seen.unavailable += 1;
      auto error = json::parse(r.body)["error"];
      if (error.has("details") && error["details"].has("outcome") &&
          error["/details/outcome"].str() == "unknown")
        seen.unknown.emplace(idem, body);
    }
  } catch (const std::exception& e) {  // checked by under_load: no answer may be malformed
    std::lock_guard lock(seen.mutex);
    seen.failures.push_back(e.what());
  }
}

struct fault_fixture {
  faultfs_mount fs;
  temp_dir outside;  // the config and the logs stay off the faulty file system
  std::string config;
  std::string data_dir;
  std::unique_ptr<kiln_process> server;
  std::atomic<std::uint16_t> port{0};  ///< the server's, for the load clients to follow
  test_account account;

  fault_fixture() {
    config = write_config(outside, sim_devices,
                          R"("storage":{"reserve_bytes":1048576,"resume_interval_ms":100})");
    data_dir = fs.path("kiln-data");
    start();
    http_client http(server->port());
    account = create_account(http, "enterprise", 1'000'000'000);
  }

  /// Starts kiln on the data directory.
  void start() {
    server = std::make_unique<kiln_process>(data_dir, config, env_list{}, outside.path().string());
    port = server->port();
  }

  /// The end of the server's log, for a failure's message.
  std::string log_tail() const {
    auto text = server->stderr_text();
    return text.size() > 4000 ? text.substr(text.size() - 4000) : text;
  }

  /// Runs keyed submits from three clients while `during` runs; then checks that every request
  /// that failed lost its connection (and got no malformed answer).
  void under_load(outcomes& seen, const std::function<void()>& during) {
    std::atomic<bool> stop{false};
    std::vector<std::thread> clients;
    for (int c = 0; c < 3; ++c)
      clients.emplace_back(load, std::cref(port), account.key, c, std::ref(stop), std::ref(seen));
    auto join = [&] {
      stop = true;
      for (auto& t : clients) t.join();
    };
    try {
      during();
    } catch (...) {  // a failed REQUIRE: the clients stop before the test unwinds
      join();
      throw;
    }
    join();
    for (const auto& failure : seen.failures) {
      INFO("a load client's request failed: " << failure);
      CHECK(connection_failure(failure));
    }
  }

  /// A supervisor's part: a server that exited (code 75: RocksDB could not resume) is started
  /// again; the exit code, or 0 when it was still running.
  int restart_if_exited() {
    if (!server->exited()) return 0;
    int code = server->exit_code();
    start();
    return code;
  }

  bool ready() {
    try {
      http_client http(server->port(), std::chrono::seconds(2));
      return http.get("/readyz").status == 200;
    } catch (const std::exception&) {
      return false;
    }
  }

  /// Every acknowledged job is there; every unknown outcome, retried with its key, is one job
  /// (the same on a second retry); the account holds no other job; the ledger replays.
  void check(const outcomes& seen) {
    http_client http(server->port());
    for (const auto& id : seen.acknowledged) {
      INFO("acknowledged job " << id);
      REQUIRE(http.get("/v1/jobs/" + id, account.key).status == 200);
    }
    std::set<std::string> settled;
    for (const auto& [idem, body] : seen.unknown) {
      auto first = post_keyed(http, account.key, body, idem);
      auto second = post_keyed(http, account.key, body, idem);
      INFO("unknown outcome of key " << idem);
      REQUIRE(first.status == 201);
      REQUIRE(second.status == 201);
      CHECK(second.header("idempotent-replayed") == "true");
      auto id = json::parse(first.body)["id"].str();
      CHECK(json::parse(second.body)["id"].str() == id);
      settled.insert(id);
    }
    for (const auto& j : all_pages(http, account.key, "/v1/jobs")) {
      auto id = j["id"].str();
      INFO("job " << id << " is neither acknowledged nor a settled unknown outcome");
      CHECK((seen.acknowledged.count(id) + settled.count(id)) == 1);
      // A job whose output could not be written says so without the server's paths.
      CHECK(j.dump().find(data_dir) == std::string::npos);
    }
    // Every job runs to its end (the sim device takes no time), so nothing moves while the
    // ledger and the balance are read.
    REQUIRE(eventually([&] { return balance_of(http, account.key).held == 0; }));
    auto balance = balance_of(http, account.key);
    CHECK(balance.granted == 1'000'000'000);
    CHECK(balance.granted == balance.available + balance.held + balance.used);
    CHECK(replay_ledger(all_pages(http, account.key, "/v1/ledger")) == balance);
  }
};

/// One job submitted outside the load, recorded when acknowledged.
bool submit_recorded(http_client& http, const std::string& key, outcomes& seen) {
  auto r = http.post("/v1/jobs", image_job_body(), key);
  if (r.status != 201) return false;
  std::lock_guard lock(seen.mutex);
  seen.acknowledged.insert(json::parse(r.body)["id"].str());
  return true;
}

}  // namespace

TEST_CASE(
  "A full disk stops writes with 503, keeps reads and readiness honest, and Kiln "
  "recovers by itself when space returns",
  "[e2e][disk][faultfs]") {
  fault_fixture f;
  outcomes seen;
  f.under_load(seen, [&] {
    http_client http(f.server->port());
    REQUIRE(eventually([&] {
      std::lock_guard lock(seen.mutex);
      return seen.acknowledged.size() >= 20;
    }));
    std::string earlier;
    {
      std::lock_guard lock(seen.mutex);
      earlier = *seen.acknowledged.begin();
    }
    f.fs.ctl("enospc", "on");
    if (!eventually([&] { return !f.ready(); }))
      FAIL("still ready on a full disk; the log:\n" << f.log_tail());
    auto ready = http.get("/readyz");
    CHECK(ready.status == 503);
    CHECK(json::parse(ready.body)["storage"].str() == "disk_full");
    auto refused = http.post("/v1/jobs", image_job_body(), f.account.key);
    CHECK(refused.status == 503);
    CHECK(json::parse(refused.body)["/error/code"].str() == "unavailable");
    CHECK(refused.body.find(f.data_dir) == std::string::npos);
    // Reads keep working, and Kiln is up.
    CHECK(http.get("/healthz").status == 200);
    CHECK(http.get("/v1/jobs/" + earlier, f.account.key).status == 200);
    CHECK(http.get("/v1/balance", f.account.key).status == 200);
    f.fs.ctl("enospc", "off");
    if (!eventually([&] { return f.ready(); }))
      FAIL("not ready again once space returned; the log:\n" << f.log_tail());
    if (!eventually([&] { return submit_recorded(http, f.account.key, seen); }))
      FAIL("no submit acknowledged once space returned; the log:\n" << f.log_tail());
  });
  CHECK(seen.unavailable > 0);
  CHECK_FALSE(f.server->exited());  // it stayed up
  f.check(seen);
  f.server->kill(SIGKILL);
  f.start();
  f.check(seen);
}

TEST_CASE("A disk that fills to its quota stops writes until the quota grows, losing nothing",
          "[e2e][disk][faultfs]") {
  fault_fixture f;
  outcomes seen;
  f.under_load(seen, [&] {
    http_client http(f.server->port());
    auto stats = f.fs.ctl("stats");
    auto at = stats.find("bytes_volatile ") + 15;
    auto used = std::stoull(stats.substr(at, stats.find('\n', at) - at));
    f.fs.ctl("quota", std::to_string(used + (3 << 20)));  // 3 MiB more: full within seconds
    if (!eventually([&] { return !f.ready(); }, std::chrono::seconds(30)))
      FAIL("still ready with the quota reached; the log:\n" << f.log_tail());
    CHECK(http.get("/v1/balance", f.account.key).status == 200);
    f.fs.ctl("quota", "0");  // no quota
    if (!eventually([&] { return f.ready(); }))
      FAIL("not ready again once the quota was lifted; the log:\n" << f.log_tail());
  });
  CHECK(seen.unavailable > 0);
  CHECK_FALSE(f.server->exited());  // it stayed up
  f.check(seen);
}

TEST_CASE(
  "A failed fsync answers 503 with an unknown outcome, Kiln recovers, and a keyed retry "
  "settles each unknown outcome to one job and one hold, across a kill -9",
  "[e2e][disk][faultfs]") {
  fault_fixture f;
  outcomes seen;
  {  // One submit whose own WAL fsync fails, nothing else writing: its outcome is unknown.
    http_client http(f.server->port());
    for (int i = 0; i < 5; ++i) {
      auto r = post_keyed(http, f.account.key, image_job_body("warm"), "warm-" + std::to_string(i));
      REQUIRE(r.status == 201);
      seen.acknowledged.insert(json::parse(r.body)["id"].str());
    }
    REQUIRE(eventually([&] { return balance_of(http, f.account.key).held == 0; }));
    f.fs.ctl("eio-fsync", "once");
    auto body = image_job_body("fate unknown");
    auto r = post_keyed(http, f.account.key, body, "fate");
    INFO(r.body << "\n" << f.log_tail());
    REQUIRE(r.status == 503);
    CHECK(json::parse(r.body)["/error/details/outcome"].str() == "unknown");
    CHECK(r.body.find(f.data_dir) == std::string::npos);
    seen.unknown.emplace("fate", body);
  }
  int exit_code = 0;
  REQUIRE(eventually([&] {  // RocksDB resumed, or Kiln exited for its supervisor (75)
    exit_code = std::max(exit_code, f.restart_if_exited());
    return f.ready();
  }));
  INFO("exit code while RocksDB could not resume (0: it stayed up): " << exit_code);
  CHECK((exit_code == 0 || exit_code == 75));
  // Then fsyncs that fail for a while under load.
  f.under_load(seen, [&] {
    REQUIRE(eventually([&] {
      std::lock_guard lock(seen.mutex);
      return seen.acknowledged.size() >= 25;
    }));
    f.fs.ctl("eio-fsync", "on");
    REQUIRE(eventually([&] {
      std::lock_guard lock(seen.mutex);
      return seen.unavailable > 0;
    }));
    f.fs.ctl("eio-fsync", "off");
    REQUIRE(eventually([&] {
      f.restart_if_exited();
      return f.ready();
    }));
  });
  INFO(f.log_tail());
  f.check(seen);
  f.server->kill(SIGKILL);
  f.start();
  f.check(seen);
}
