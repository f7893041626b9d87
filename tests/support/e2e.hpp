// What most end-to-end tests share: a server in its own temporary directory, accounts made
// through the admin API, jobs, and the one bounded polling helper.
#pragma once

#include "tests/support/http_client.hpp"
#include "tests/support/json.hpp"
#include "tests/support/kiln_process.hpp"

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace kiln::test {

/// One sim device with four slots and no latency: jobs finish at once.
inline const std::string sim_devices =
  R"([{"id":"sim-0","executor":"sim","slots":4,"latency_ms":0}])";
/// One builtin device: real PNG/GIF renders.
inline const std::string builtin_devices = R"([{"id":"gpu-0","executor":"builtin","slots":2}])";

/// A kiln server on port 0 with its own temp dir, config and data dir, plus a client for it.
class test_server {
public:
  /// `extra_config`: more top-level config members (see write_config), kept across restarts.
  explicit test_server(const std::string& devices_json = sim_devices,
                       const std::string& extra_config = {});

  http_client& http() { return *client_; }
  kiln_process& process() { return *process_; }
  const temp_dir& dir() const { return dir_; }
  const std::string& data_dir() const { return data_dir_; }
  const std::string& config_file() const { return config_file_; }

  /// Starts kiln again on the same data directory (the previous process must have ended),
  /// optionally with other devices; the client then talks to the new port.
  void restart(const std::string& devices_json = {});

private:
  void start();

  temp_dir dir_;
  std::string extra_config_;
  std::string data_dir_;
  std::string config_file_;
  std::unique_ptr<kiln_process> process_;
  std::unique_ptr<http_client> client_;
};

struct test_account {
  std::string id;
  std::string key;
  std::string webhook_secret;
};

/// POST /admin/v1/accounts; fails the test unless it answers 201.
test_account create_account(http_client& http, const std::string& plan = "pro",
                            std::int64_t credits = 1000, const std::string& name = "e2e");

/// The Authorization header of the admin token.
header_list admin_headers();

/// PUT /admin/v1/faults with `body`; fails the test unless it answers 200; the faults now.
json put_faults(http_client& http, const std::string& body);

/// Calls `done` every 20 ms until it returns true or `timeout` passes; returns its last answer.
/// The only waiting the end-to-end tests do.
bool eventually(const std::function<bool()>& done,
                std::chrono::milliseconds timeout = std::chrono::seconds(20));

/// Polls GET /v1/jobs/{id} until the job is terminal (or the timeout passes); the last job.
json wait_for_terminal(http_client& http, const std::string& key, const std::string& job_id,
                       std::chrono::milliseconds timeout = std::chrono::seconds(20));

/// Rewrites the server's config so that its next start runs its clock `offset_ms` ahead
/// (faults.clock_offset_ms, which the config must already name, e.g. 0).
void set_clock_offset(const test_server& server, std::int64_t offset_ms);

/// A create body for a small image job on flux2-turbo.
std::string image_job_body(const std::string& prompt = "a kiln at dusk");

/// POST /v1/jobs that must answer 201; returns the job id.
std::string submit_job(http_client& http, const std::string& key, const std::string& body);

/// POST /v1/jobs of `body` with `header: idempotency_key` (Idempotency-Key by default).
http_response post_keyed(http_client& http, const std::string& api_key, const std::string& body,
                         const std::string& idempotency_key,
                         const std::string& header = "Idempotency-Key");

/// Whether `what`, the text of an exception http_client threw, says that the connection failed
/// (refused, reset or closed before the whole answer came, or timed out), not that an answer
/// was malformed: what a load client may see when the server goes away under it.
bool connection_failure(const std::string& what);

}  // namespace kiln::test
