// webhooks.test_targets: which webhook URLs a test key's jobs may use.
#include "outbound/target.hpp"

#include <catch2/catch.hpp>

using kiln::outbound::is_test_target;

TEST_CASE("a test target names a host for any port or a host and port for that port only",
          "[outbound]") {
  std::vector<std::string> allowed{"hooks.example.com", "127.0.0.1:9000", "[::1]:8443",
                                   "Staging.Example.org"};
  CHECK(is_test_target(allowed, "https://hooks.example.com/x"));
  CHECK(is_test_target(allowed, "http://HOOKS.example.com:8080/x?y=1"));
  CHECK(is_test_target(allowed, "http://127.0.0.1:9000/hook"));
  CHECK(is_test_target(allowed, "https://[::1]:8443/"));
  CHECK(is_test_target(allowed, "https://staging.example.org"));
  CHECK_FALSE(is_test_target(allowed, "http://127.0.0.1:9001/hook"));
  CHECK_FALSE(is_test_target(allowed, "http://127.0.0.1/hook"));  // port 80
  CHECK_FALSE(is_test_target(allowed, "https://[::1]/"));
  CHECK_FALSE(is_test_target(allowed, "https://evil.hooks.example.com/"));
  CHECK_FALSE(is_test_target(allowed, "https://hooks.example.com.evil.net/"));
  CHECK_FALSE(is_test_target(allowed, "https://user@hooks.example.com/"));  // does not parse
  CHECK_FALSE(is_test_target(allowed, "ftp://hooks.example.com/"));
}

TEST_CASE("a port on a test target matches the scheme's default port", "[outbound]") {
  std::vector<std::string> allowed{"example.com:443"};
  CHECK(is_test_target(allowed, "https://example.com/"));
  CHECK_FALSE(is_test_target(allowed, "http://example.com/"));
}

TEST_CASE("no test targets allow no webhook", "[outbound]") {
  CHECK_FALSE(is_test_target({}, "https://example.com/"));
}
