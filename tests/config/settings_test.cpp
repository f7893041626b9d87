// Unit tests for config/settings: defaults, the JSON file, KILN_* environment variables, flags,
// their precedence, and error messages that name the offending key.
#include "config/settings.hpp"
#include "tests/support/kiln_process.hpp"

#include <stdlib.h>  // mkdtemp, setenv, unsetenv

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>

namespace {

using kiln::load_settings;
using env_map = std::map<std::string, std::string>;

using kiln::test::temp_dir;

/// Loads `json` as the configuration file (no environment, no flags) and returns the error.
std::string error_of_file(const std::string& json) {
  temp_dir dir;
  auto result = load_settings(kiln::test::write_file(dir / "kiln.json", json), {}, {});
  CHECK_FALSE(result.value.has_value());
  return result.error;
}

}  // namespace

TEST_CASE("defaults include two devices and four ranked plans", "[config]") {
  kiln::settings s = kiln::default_settings();
  CHECK(s.listen == "127.0.0.1:8080");
  CHECK(s.listen_host() == "127.0.0.1");
  CHECK(s.listen_port() == 8080);
  CHECK(s.data_dir == "./data");
  CHECK(s.durability == kiln::durability_mode::fsync);
  REQUIRE(s.devices.size() == 2);
  CHECK(s.devices[0].id == "gpu-0");
  CHECK(s.devices[0].executor == "builtin");
  CHECK(s.devices[0].slots == 1);
  CHECK(s.devices[1].id == "gpu-1");
  CHECK(s.devices[1].executor == "sim");
  CHECK(s.devices[1].slots == 4);
  CHECK(s.devices[1].latency_ms == 50);
  CHECK(s.devices[1].models == std::vector<std::string>{"*"});
  REQUIRE(s.plans.size() == 4);
  const kiln::plan_settings* pro = s.find_plan("pro");
  REQUIRE(pro != nullptr);
  CHECK(pro->rank == 2);
  CHECK(pro->requests_per_minute == 1200);
  CHECK(pro->max_concurrent_jobs == 8);
  CHECK(s.find_plan("enterprise")->max_concurrent_jobs == 32);
  CHECK(s.find_plan("free")->requests_per_minute == 60);
  CHECK(s.find_plan("platinum") == nullptr);
}

TEST_CASE("loading with no file, environment or flags gives the defaults", "[config]") {
  auto result = load_settings("", {}, {});
  REQUIRE(result.error.empty());
  REQUIRE(result.value);
  CHECK(result.value->devices.size() == 2);
  CHECK(result.value->plans.size() == 4);
}

TEST_CASE("a full valid file sets every key", "[config]") {
  temp_dir dir;
  std::string path = kiln::test::write_file(dir / "kiln.json", R"({
    "listen": "0.0.0.0:0", "data_dir": "/var/kiln", "admin_token": "secret", "durability": "none",
    "actor_threads": 8, "catalog_file": "/etc/catalog.json", "demo_account": false,
    "http": {"threads": 4, "idle_timeout_ms": 5000},
    "webhooks": {"timeout_ms": 2000, "retry_schedule_ms": [0, 10, 20], "allow_private_targets": true},
    "jobs": {"max_attempts": 5, "idempotency_ttl_s": 3600},
    "devices": [{"id": "a", "executor": "http", "url": "http://10.0.0.1:9000", "slots": 2,
                 "models": ["img-1", "vid-1"]}],
    "plans": [{"name": "only", "rank": 7, "requests_per_minute": 10, "max_concurrent_jobs": 3}],
    "faults": {"seed": 42, "device_fail_rate": 0.5, "device_crash_rate": 1, "webhook_drop_rate": 0}
  })");
  auto result = load_settings(path, {}, {});
  REQUIRE(result.error.empty());
  const kiln::settings& s = *result.value;
  CHECK(s.listen_host() == "0.0.0.0");
  CHECK(s.listen_port() == 0);
  CHECK(s.data_dir == "/var/kiln");
  CHECK(s.admin_token == "secret");
  CHECK(s.durability == kiln::durability_mode::none);
  CHECK(s.actor_threads == 8);
  CHECK(s.catalog_file == "/etc/catalog.json");
  CHECK_FALSE(s.demo_account);
  CHECK(s.http.threads == 4);
  CHECK(s.http.idle_timeout_ms == 5000);
  CHECK(s.webhooks.timeout_ms == 2000);
  CHECK(s.webhooks.retry_schedule_ms == std::vector<std::uint64_t>{0, 10, 20});
  CHECK(s.webhooks.allow_private_targets);
  CHECK(s.jobs.max_attempts == 5);
  CHECK(s.jobs.idempotency_ttl_s == 3600);
  REQUIRE(s.devices.size() == 1);
  CHECK(s.devices[0].id == "a");
  CHECK(s.devices[0].executor == "http");
  CHECK(s.devices[0].url == "http://10.0.0.1:9000");
  CHECK(s.devices[0].slots == 2);
  CHECK(s.devices[0].models == std::vector<std::string>{"img-1", "vid-1"});
  REQUIRE(s.plans.size() == 1);
  CHECK(s.plans[0].name == "only");
  CHECK(s.plans[0].rank == 7);
  CHECK(s.plans[0].requests_per_minute == 10);
  CHECK(s.plans[0].max_concurrent_jobs == 3);
  CHECK(s.faults.seed == 42);
  CHECK(s.faults.device_fail_rate == 0.5);
  CHECK(s.faults.device_crash_rate == 1.0);
  CHECK(s.faults.webhook_drop_rate == 0.0);
}

TEST_CASE("a device object may omit keys that have defaults", "[config]") {
  temp_dir dir;
  auto result = load_settings(
    kiln::test::write_file(dir / "kiln.json", R"({"devices": [{"id": "x"}]})"), {}, {});
  REQUIRE(result.error.empty());
  REQUIRE(result.value->devices.size() == 1);
  CHECK(result.value->devices[0].executor == "builtin");
  CHECK(result.value->devices[0].slots == 1);
  CHECK(result.value->devices[0].models == std::vector<std::string>{"*"});
}

TEST_CASE("an unknown top-level key is rejected by name", "[config]") {
  CHECK(error_of_file(R"({"listne": "127.0.0.1:1"})") == "config: unknown key 'listne'");
}

TEST_CASE("an unknown nested key is rejected by its dotted path", "[config]") {
  CHECK(error_of_file(R"({"webhooks": {"timeout": 5}})") ==
        "config: unknown key 'webhooks.timeout'");
}

TEST_CASE("an unknown key inside a device object is rejected with its index", "[config]") {
  CHECK(error_of_file(R"({"devices": [{"id": "a"}, {"id": "b", "slot": 2}]})") ==
        "config: unknown key 'devices[1].slot'");
}

TEST_CASE("a value of the wrong JSON type is rejected by name", "[config]") {
  CHECK(error_of_file(R"({"http": {"threads": "4"}})") ==
        "config: 'http.threads' must be an integer from 1 to 64");
  CHECK(error_of_file(R"({"admin_token": 42})") == "config: 'admin_token' must be a string");
  CHECK(error_of_file(R"({"demo_account": "yes"})") ==
        "config: 'demo_account' must be true or false");
  CHECK(error_of_file(R"({"http": 4})") == "config: 'http' must be an object");
  CHECK(error_of_file(R"({"devices": {"id": "a"}})") ==
        "config: 'devices' must be a non-empty array of objects");
}

TEST_CASE("a value out of range is rejected by name", "[config]") {
  CHECK(error_of_file(R"({"http": {"threads": 65}})") ==
        "config: 'http.threads' must be an integer from 1 to 64");
  CHECK(error_of_file(R"({"jobs": {"max_attempts": -1}})") ==
        "config: 'jobs.max_attempts' must be an integer from 1 to 100");
  CHECK(error_of_file(R"({"faults": {"webhook_drop_rate": 1.5}})") ==
        "config: 'faults.webhook_drop_rate' must be a number from 0 to 1");
  CHECK(load_settings("", {{"KILN_FAULTS_DEVICE_CRASH_RATE", "nan"}}, {}).error ==
        "config: 'KILN_FAULTS_DEVICE_CRASH_RATE' must be a number from 0 to 1");
  CHECK(error_of_file(R"({"devices": [{"id": "a", "slots": 0}]})") ==
        "config: 'devices[0].slots' must be an integer from 1 to 256");
}

TEST_CASE("an enum value outside its choices is rejected with the choices", "[config]") {
  CHECK(error_of_file(R"({"devices": [{"id": "a"}, {"id": "b", "executor": "gpu"}]})") ==
        "config: 'devices[1].executor' must be one of builtin, sim, http");
  CHECK(error_of_file(R"({"durability": "sometimes"})") ==
        "config: 'durability' must be one of fsync, none");
}

TEST_CASE("a repeated device id is rejected", "[config]") {
  CHECK(error_of_file(R"({"devices": [{"id": "a"}, {"id": "a"}]})") ==
        "config: 'devices[1].id' repeats 'a'");
}

TEST_CASE("a device without an id or with an empty device list is rejected", "[config]") {
  CHECK(error_of_file(R"({"devices": [{"slots": 2}]})") == "config: 'devices[0].id' is required");
  CHECK(error_of_file(R"({"devices": []})") ==
        "config: 'devices' must be a non-empty array of objects");
}

TEST_CASE("an http device needs a url and only an http device may have one", "[config]") {
  CHECK(error_of_file(R"({"devices": [{"id": "a", "executor": "http"}]})") ==
        "config: 'devices[0].url' is required when executor is http");
  CHECK(error_of_file(R"({"devices": [{"id": "a", "url": "http://x"}]})") ==
        "config: 'devices[0].url' is only allowed when executor is http");
}

TEST_CASE("plans replace the defaults and need unique names", "[config]") {
  CHECK(error_of_file(R"({"plans": [{"name": "a"}, {"name": "a"}]})") ==
        "config: 'plans[1].name' repeats 'a'");
  CHECK(error_of_file(R"({"plans": [{"name": "a", "cost": 1}]})") ==
        "config: unknown key 'plans[0].cost'");
}

TEST_CASE("the retry schedule must hold 1 to 20 non-negative integers", "[config]") {
  CHECK_THAT(error_of_file(R"({"webhooks": {"retry_schedule_ms": []}})"),
             Catch::StartsWith("config: 'webhooks.retry_schedule_ms' must be"));
  CHECK_THAT(error_of_file(R"({"webhooks": {"retry_schedule_ms": [0, -5]}})"),
             Catch::StartsWith("config: 'webhooks.retry_schedule_ms[1]' must be"));
  std::string many = "[0";
  for (int i = 0; i < 20; ++i) many += ",0";  // 21 entries
  many += "]";
  CHECK_THAT(error_of_file(R"({"webhooks": {"retry_schedule_ms": )" + many + "}}"),
             Catch::StartsWith("config: 'webhooks.retry_schedule_ms' must be"));
}

TEST_CASE("listen must be HOST:PORT with a port up to 65535", "[config]") {
  for (const char* bad :
       {"localhost", "localhost:", ":8080", "host:65536", "host:-1", "h:8x", "::1:80"}) {
    INFO(bad);
    CHECK(load_settings("", {}, {{"listen", bad}}).error ==
          "config: 'listen' must be HOST:PORT with a port from 0 to 65535");
  }
  CHECK(error_of_file(R"({"listen": "nohost"})") ==
        "config: 'listen' must be HOST:PORT with a port from 0 to 65535");
  auto any_port = load_settings("", {}, {{"listen", "127.0.0.1:0"}});
  REQUIRE(any_port.error.empty());
  CHECK(any_port.value->listen_port() == 0);
  auto v6 = load_settings("", {}, {{"listen", "[::1]:9000"}});
  REQUIRE(v6.error.empty());
  CHECK(v6.value->listen_host() == "::1");
  CHECK(v6.value->listen_port() == 9000);
}

TEST_CASE("invalid JSON is rejected naming the file", "[config]") {
  temp_dir dir;
  std::string path = kiln::test::write_file(dir / "broken.json", R"({"listen": )");
  auto result = load_settings(path, {}, {});
  CHECK_FALSE(result.value);
  CHECK_THAT(result.error, Catch::StartsWith("config: invalid JSON in " + path + ": "));
}

TEST_CASE("a missing file is an error naming its path", "[config]") {
  temp_dir dir;
  std::string path = kiln::test::write_file(dir / "x", "") + "-missing.json";
  auto result = load_settings(path, {}, {});
  CHECK_FALSE(result.value);
  CHECK_THAT(result.error, Catch::Contains(path));
}

TEST_CASE("an environment variable overrides the file", "[config]") {
  temp_dir dir;
  std::string path = kiln::test::write_file(dir / "kiln.json",
                                            R"({"listen": "127.0.0.1:1", "http": {"threads": 3}})");
  auto result = load_settings(path,
                              {{"KILN_LISTEN", "127.0.0.1:2"},
                               {"KILN_HTTP_THREADS", "5"},
                               {"KILN_WEBHOOKS_ALLOW_PRIVATE_TARGETS", "1"},
                               {"KILN_FAULTS_DEVICE_FAIL_RATE", "0.25"},
                               {"KILN_DURABILITY", "none"}},
                              {});
  REQUIRE(result.error.empty());
  CHECK(result.value->listen_port() == 2);
  CHECK(result.value->http.threads == 5);
  CHECK(result.value->webhooks.allow_private_targets);
  CHECK(result.value->faults.device_fail_rate == 0.25);
  CHECK(result.value->durability == kiln::durability_mode::none);
}

TEST_CASE("a flag overrides the environment and the file", "[config]") {
  temp_dir dir;
  std::string path = kiln::test::write_file(dir / "kiln.json", R"({"data_dir": "/from/file"})");
  auto result = load_settings(path, {{"KILN_DATA_DIR", "/from/env"}},
                              {{"data_dir", "/from/flag"}, {"jobs.max_attempts", "9"}});
  REQUIRE(result.error.empty());
  CHECK(result.value->data_dir == "/from/flag");
  CHECK(result.value->jobs.max_attempts == 9);
}

TEST_CASE("an unknown KILN_ environment variable is rejected and others are ignored", "[config]") {
  CHECK(load_settings("", {{"KILN_FOO", "1"}}, {}).error ==
        "config: unknown environment variable 'KILN_FOO'");
  CHECK(load_settings("", {{"HOME", "/root"}, {"PATH", "/bin"}}, {}).error.empty());
}

TEST_CASE("environment values are validated and errors name the variable", "[config]") {
  CHECK(load_settings("", {{"KILN_HTTP_THREADS", "abc"}}, {}).error ==
        "config: 'KILN_HTTP_THREADS' must be an integer from 1 to 64");
  CHECK(load_settings("", {{"KILN_DEMO_ACCOUNT", "yes"}}, {}).error ==
        "config: 'KILN_DEMO_ACCOUNT' must be true or false");
  CHECK(load_settings("", {{"KILN_JOBS_MAX_ATTEMPTS", " 3"}}, {}).error ==
        "config: 'KILN_JOBS_MAX_ATTEMPTS' must be an integer from 1 to 100");
}

TEST_CASE("KILN_DEVICES takes the device list as JSON", "[config]") {
  auto result = load_settings(
    "", {{"KILN_DEVICES", R"([{"id": "sim-a", "executor": "sim", "slots": 8}])"}}, {});
  REQUIRE(result.error.empty());
  REQUIRE(result.value->devices.size() == 1);
  CHECK(result.value->devices[0].id == "sim-a");
  CHECK(result.value->devices[0].slots == 8);
  CHECK(load_settings("", {{"KILN_DEVICES", R"([{"id": "a", "executor": "gpu"}])"}}, {}).error ==
        "config: 'KILN_DEVICES[0].executor' must be one of builtin, sim, http");
  CHECK_THAT(load_settings("", {{"KILN_DEVICES", "[{"}}, {}).error,
             Catch::StartsWith("config: 'KILN_DEVICES' must be valid JSON"));
}

TEST_CASE("KILN_WEBHOOKS_RETRY_SCHEDULE_MS takes a JSON array", "[config]") {
  auto result = load_settings("", {{"KILN_WEBHOOKS_RETRY_SCHEDULE_MS", "[5, 6]"}}, {});
  REQUIRE(result.error.empty());
  CHECK(result.value->webhooks.retry_schedule_ms == std::vector<std::uint64_t>{5, 6});
}

TEST_CASE("an unknown flag is rejected", "[config]") {
  CHECK(load_settings("", {}, {{"data-dir", "/x"}}).error == "config: unknown flag 'data-dir'");
  CHECK(load_settings("", {}, {{"http.threads", "0"}}).error ==
        "config: 'http.threads' must be an integer from 1 to 64");
}

TEST_CASE("kiln_environment returns only KILN_ variables", "[config]") {
  ::setenv("KILN_SETTINGS_TEST_PROBE", "a=b", 1);
  ::setenv("NOT_KILN_PROBE", "x", 1);
  auto variables = kiln::kiln_environment();
  ::unsetenv("KILN_SETTINGS_TEST_PROBE");
  ::unsetenv("NOT_KILN_PROBE");
  CHECK(variables.at("KILN_SETTINGS_TEST_PROBE") == "a=b");
  CHECK(variables.count("NOT_KILN_PROBE") == 0);
  for (const auto& [name, value] : variables) CHECK(name.starts_with("KILN_"));
}
