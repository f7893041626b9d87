// webhooks.test_targets: empty by default, "host" or "host:port" entries, and a start-up error
// naming the entry that is neither.
#include "config/settings.hpp"
#include "tests/support/kiln_process.hpp"

#include <catch2/catch.hpp>

namespace {

using kiln::test::temp_dir;

kiln::settings_result load_file(const std::string& json) {
  temp_dir dir;
  return kiln::load_settings(kiln::test::write_file(dir / "kiln.json", json), {}, {});
}

}  // namespace

TEST_CASE("webhooks.test_targets is empty by default and takes hosts and host:port entries",
          "[config]") {
  CHECK(kiln::default_settings().webhooks.test_targets.empty());
  auto loaded =
    load_file(R"({"webhooks": {"test_targets": ["hooks.example.com", "127.0.0.1:9000", "[::1]",)"
              R"( "[::1]:8443"]}})");
  REQUIRE(loaded.value);
  CHECK(loaded.value->webhooks.test_targets ==
        std::vector<std::string>{"hooks.example.com", "127.0.0.1:9000", "[::1]", "[::1]:8443"});
}

TEST_CASE("a webhooks.test_targets entry that is not host or host:port stops start-up",
          "[config]") {
  for (const char* bad : {R"("")", R"("host:")", R"(":80")", R"("host:0")", R"("host:65536")",
                          R"("host:080")", R"("host:8x")", R"("[::1")", R"("[::1]x")", R"("[]:80")",
                          R"("http://host")", R"("a b")", "5"}) {
    INFO(bad);
    auto loaded = load_file(std::string(R"({"webhooks": {"test_targets": ["ok", )") + bad + "]}}");
    CHECK_FALSE(loaded.value);
    CHECK(loaded.error == "config: 'webhooks.test_targets[1]' must be \"host\" or \"host:port\"");
  }
  auto not_array = load_file(R"({"webhooks": {"test_targets": "host"}})");
  CHECK_FALSE(not_array.value);
  CHECK_THAT(not_array.error, Catch::StartsWith("config: 'webhooks.test_targets' must be"));
}
