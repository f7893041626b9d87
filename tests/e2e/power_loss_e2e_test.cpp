// Power cuts under load, simulated by faultfs (tests/faultfs): kiln's data directory lives on a
// file system that keeps every write in memory until it is fsynced and drops everything else at
// a cut. Each round: load (submits from several clients, polls that record which jobs were seen
// succeeded and what they produced), kill -9, cut, start again; then every acknowledged job is
// there, every job seen succeeded still is and each of its files downloads whole, and the
// account's credits replay from its ledger to its balance.
//
// KILN_POWER_CUTS sets the number of rounds (default 3; a long run is e.g. KILN_POWER_CUTS=100).
#include "tests/support/e2e.hpp"
#include "tests/support/faultfs_mount.hpp"
#include "tests/support/ledger_e2e.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <thread>

using namespace kiln::test;

namespace {

/// A job seen succeeded before a cut: its outputs' sizes, to be found again, whole.
struct seen_output {
  std::string name;
  std::int64_t bytes = 0;
};

struct load_record {
  std::mutex mutex;
  std::set<std::string> acknowledged;  ///< every job id a 201 named
  std::map<std::string, std::vector<seen_output>> succeeded;
  std::vector<std::string> failures;  ///< why clients stopped: the kill cut their connections
};

int power_cuts() {
  const char* text = std::getenv("KILN_POWER_CUTS");
  return text && *text ? std::max(1, std::atoi(text)) : 3;
}

std::string file_name_of(const std::string& url) {
  auto start = url.find("/v1/files/") + 10;
  return url.substr(start, url.find('?', start) - start);
}

/// Submits and polls until `stop`; every 201 and every success seen goes into `record`.
void load(std::uint16_t port, const std::string& key, int client, std::atomic<bool>& stop,
          load_record& record) {
  std::mt19937_64 random(static_cast<std::uint64_t>(client) * 7919 + 1);
  try {
    http_client http(port, std::chrono::seconds(10));
    std::vector<std::string> mine;
    for (int i = 0; !stop.load(); ++i) {
      auto r = http.post("/v1/jobs", image_job_body("cut " + std::to_string(i)), key);
      if (r.status == 201) {
        auto id = json::parse(r.body)["id"].str();
        mine.push_back(id);
        std::lock_guard lock(record.mutex);
        record.acknowledged.insert(id);
      }
      if (mine.empty() || i % 2 == 0) continue;
      const auto& probe = mine[random() % mine.size()];
      auto job = json::parse(http.get("/v1/jobs/" + probe, key).body);
      if (job["status"].str() != "succeeded") continue;
      std::vector<seen_output> outputs;
      for (std::size_t o = 0; o < job["output"].size(); ++o)
        outputs.push_back(
          {file_name_of(job["output"][o]["url"].str()), job["output"][o]["bytes"].integer()});
      std::lock_guard lock(record.mutex);
      record.succeeded[probe] = std::move(outputs);
    }
  } catch (const std::exception& e) {  // the server was killed under this client
    std::lock_guard lock(record.mutex);
    record.failures.push_back(e.what());
  }
}

bool is_png(const std::string& bytes) {
  return bytes.size() > 8 && bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0;
}

}  // namespace

TEST_CASE(
  "Power cuts under load lose no acknowledged job, no output file of a job seen "
  "succeeded, and no credit",
  "[e2e][power][faultfs]") {
  faultfs_mount fs;
  temp_dir outside;  // the config and the logs stay off the cut file system
  auto config =
    write_config(outside, R"([{"id":"sim-0","executor":"sim","slots":4,"latency_ms":0},)"
                          R"({"id":"gpu-0","executor":"builtin","slots":1}])");
  const auto data_dir = fs.path("kiln-data");  // kiln creates it, durably
  auto server =
    std::make_unique<kiln_process>(data_dir, config, env_list{}, outside.path().string());
  test_account account;
  {
    http_client http(server->port());
    account = create_account(http, "enterprise", 1'000'000'000);
  }
  std::set<std::string> acknowledged;
  std::map<std::string, std::vector<seen_output>> succeeded;
  std::size_t files_checked = 0;
  // Every job of `ids` is found; every job of `seen` is still succeeded with its files whole.
  auto check = [&](http_client& http, const std::set<std::string>& ids,
                   const std::map<std::string, std::vector<seen_output>>& seen) {
    for (const auto& id : ids) {
      INFO("acknowledged job " << id);
      REQUIRE(http.get("/v1/jobs/" + id, account.key).status == 200);
    }
    for (const auto& [id, outputs] : seen) {
      INFO("job " << id << " was seen succeeded before a cut");
      auto job = json::parse(http.get("/v1/jobs/" + id, account.key).body);
      REQUIRE(job["status"].str() == "succeeded");
      REQUIRE(job["output"].size() == outputs.size());
      for (std::size_t o = 0; o < outputs.size(); ++o) {
        auto url = job["output"][o]["url"].str();
        REQUIRE(file_name_of(url) == outputs[o].name);
        auto file = http.get(url.substr(url.find("/v1/files/")));
        INFO("file " << outputs[o].name);
        REQUIRE(file.status == 200);
        CHECK(static_cast<std::int64_t>(file.body.size()) == outputs[o].bytes);
        CHECK(is_png(file.body));
        ++files_checked;
      }
    }
  };
  const int cuts = power_cuts();
  for (int cut = 1; cut <= cuts; ++cut) {
    load_record record;
    std::atomic<bool> stop{false};
    std::vector<std::thread> clients;
    for (int c = 0; c < 4; ++c)
      clients.emplace_back(load, server->port(), account.key, c, std::ref(stop), std::ref(record));
    // Load until this round has jobs acknowledged and one seen succeeded, then a moment more
    // that differs from round to round, so that the cuts land at different points of the work.
    bool loaded = eventually(
      [&] {
        std::lock_guard lock(record.mutex);
        return record.acknowledged.size() >= 20 && !record.succeeded.empty();
      },
      std::chrono::seconds(60));
    std::this_thread::sleep_for(std::chrono::milliseconds(50 + 150 * (cut % 4)));
    server->kill(SIGKILL);  // the power goes: every process at once, then the disk's cache
    fs.ctl("cut");
    stop = true;
    for (auto& t : clients) t.join();
    INFO("cut " << cut);
    for (const auto& failure : record.failures) {
      INFO("a load client failed: " << failure);
      CHECK(connection_failure(failure));
    }
    {
      INFO(record.acknowledged.size() << " jobs acknowledged, " << record.succeeded.size()
                                      << " seen succeeded before the cut");
      REQUIRE(loaded);
    }

    server = std::make_unique<kiln_process>(data_dir, config, env_list{}, outside.path().string());
    http_client http(server->port());
    check(http, record.acknowledged, record.succeeded);  // this round's; all of them at the end
    acknowledged.insert(record.acknowledged.begin(), record.acknowledged.end());
    for (auto& [id, outputs] : record.succeeded) succeeded[id] = outputs;
    auto balance = balance_of(http, account.key);
    CHECK(balance.granted == balance.available + balance.held + balance.used);
    CHECK(balance.granted == 1'000'000'000);
  }
  http_client http(server->port());
  check(http, acknowledged, succeeded);
  CHECK(replay_ledger(all_pages(http, account.key, "/v1/ledger")) == balance_of(http, account.key));
  std::fprintf(stderr,
               "power cuts: %d cuts, %zu acknowledged jobs all found, %zu jobs seen succeeded, "
               "%zu files checked whole, 0 lost\n",
               cuts, acknowledged.size(), succeeded.size(), files_checked);
  CHECK(acknowledged.size() > 0);
  CHECK(files_checked > 0);
}
