#include "tests/support/e2e.hpp"

#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace kiln::test {

test_server::test_server(const std::string& devices_json, const std::string& extra_config)
  : extra_config_(extra_config),
    data_dir_(dir_ / "data"),
    config_file_(write_config(dir_, devices_json, extra_config_)) {
  start();
}

void test_server::start() {
  client_.reset();
  process_ = std::make_unique<kiln_process>(data_dir_, config_file_);
  client_ = std::make_unique<http_client>(process_->port());
}

void test_server::restart(const std::string& devices_json) {
  if (process_ && process_->running())
    throw std::logic_error("restart() needs the previous server to have stopped");
  if (!devices_json.empty()) config_file_ = write_config(dir_, devices_json, extra_config_);
  start();
}

void set_clock_offset(const test_server& server, std::int64_t offset_ms) {
  std::ifstream in(server.config_file());
  std::stringstream text;
  text << in.rdbuf();
  auto config = text.str();
  auto at = config.find("\"clock_offset_ms\":");
  REQUIRE(at != std::string::npos);
  auto end = config.find_first_of(",}", at);
  config.replace(at, end - at, "\"clock_offset_ms\":" + std::to_string(offset_ms));
  std::ofstream(server.config_file()) << config;
}

test_account create_account(http_client& http, const std::string& plan, std::int64_t credits,
                            const std::string& name) {
  auto headers = admin_headers();
  headers.emplace_back("Content-Type", "application/json");
  auto response = http.request("POST", "/admin/v1/accounts",
                               R"({"name":")" + name + R"(","plan":")" + plan + R"(","credits":)" +
                                 std::to_string(credits) + "}",
                               headers);
  if (response.status != 201)
    throw std::runtime_error("create account: " + std::to_string(response.status) + " " +
                             response.body);
  auto body = json::parse(response.body);
  return {body["/account/id"].str(), body["api_key"].str(), body["webhook_secret"].str()};
}

header_list admin_headers() { return {bearer(admin_token)}; }

bool eventually(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

json put_faults(http_client& http, const std::string& body) {
  auto headers = admin_headers();
  headers.emplace_back("Content-Type", "application/json");
  auto response = http.request("PUT", "/admin/v1/faults", body, headers);
  if (response.status != 200)
    throw std::runtime_error("put faults: " + std::to_string(response.status) + " " +
                             response.body);
  return json::parse(response.body);
}

json wait_for_terminal(http_client& http, const std::string& key, const std::string& job_id,
                       std::chrono::milliseconds timeout) {
  std::string last;
  eventually(
    [&] {
      auto response = http.get("/v1/jobs/" + job_id, key);
      last = response.body;
      if (response.status != 200) return false;
      auto status = json::parse(response.body)["status"].str();
      return status == "succeeded" || status == "failed" || status == "canceled";
    },
    timeout);
  return json::parse(last);
}

std::string image_job_body(const std::string& prompt) {
  return R"({"type":"image","model":"flux2-turbo","prompt":")" + prompt + R"("})";
}

std::string submit_job(http_client& http, const std::string& key, const std::string& body) {
  auto response = http.post("/v1/jobs", body, key);
  if (response.status != 201)
    throw std::runtime_error("POST /v1/jobs: " + std::to_string(response.status) + " " +
                             response.body);
  return json::parse(response.body)["id"].str();
}

http_response post_keyed(http_client& http, const std::string& api_key, const std::string& body,
                         const std::string& idempotency_key, const std::string& header) {
  return http.request(
    "POST", "/v1/jobs", body,
    {bearer(api_key), {"Content-Type", "application/json"}, {header, idempotency_key}});
}

bool connection_failure(const std::string& what) {
  // The texts tests/support/http_client.cpp throws for a connection, not for an answer.
  for (const char* start :
       {"connect to 127.0.0.1:", "recv: ", "timed out waiting for the response",
        "connection closed inside the response head", "connection closed inside the body"})
    if (what.rfind(start, 0) == 0) return true;
  return what.find(": connection closed without a response") != std::string::npos;
}

}  // namespace kiln::test
