// outputs.retention_days: 30 by default, 0 (keep forever) to 3650, from the file and the
// environment, and a value out of range refused with the key's name (issue 17).
#include "config/settings.hpp"
#include "tests/support/kiln_process.hpp"

#include <catch2/catch.hpp>

#include <string>

TEST_CASE("outputs.retention_days is 30 by default and takes 0 to 3650 days", "[config]") {
  auto defaults = kiln::load_settings("", {}, {});
  REQUIRE(defaults.value);
  CHECK(defaults.value->outputs.retention_days == 30);

  for (auto days : {"0", "1", "3650"}) {
    auto loaded = kiln::load_settings("", {{"KILN_OUTPUTS_RETENTION_DAYS", days}}, {});
    INFO(days << ": " << loaded.error);
    REQUIRE(loaded.value);
    CHECK(loaded.value->outputs.retention_days == std::stoul(days));
  }
  for (auto days : {"3651", "-1", "1.5"}) {
    auto refused = kiln::load_settings("", {{"KILN_OUTPUTS_RETENTION_DAYS", days}}, {});
    INFO(days);
    CHECK_FALSE(refused.value);
    CHECK(refused.error.find("KILN_OUTPUTS_RETENTION_DAYS") != std::string::npos);
  }

  kiln::test::temp_dir dir;
  auto file = kiln::test::write_file(dir / "kiln.json", R"({"outputs":{"retention_days":7}})");
  auto from_file = kiln::load_settings(file, {}, {});
  REQUIRE(from_file.value);
  CHECK(from_file.value->outputs.retention_days == 7);
  auto too_long = kiln::load_settings(
    kiln::test::write_file(dir / "bad.json", R"({"outputs":{"retention_days":4000}})"), {}, {});
  CHECK_FALSE(too_long.value);
  CHECK(too_long.error.find("outputs.retention_days") != std::string::npos);
}
