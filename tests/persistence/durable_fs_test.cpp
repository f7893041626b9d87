// Durable files: a write leaves exactly the named file with its bytes (no temporary behind), a
// failed write leaves nothing, and nested directories are created whole. Whether they survive a
// power cut is the power-loss test's part (tests/e2e/power_loss_e2e_test.cpp).
#include <catch2/catch.hpp>

#include "models/error.hpp"
#include "persistence/durable_fs.hpp"
#include "persistence/output_files.hpp"
#include "tests/support/kiln_process.hpp"

#include <filesystem>

using kiln::test::temp_dir;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> names_in(const fs::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

}  // namespace

TEST_CASE("a durable write leaves exactly the named file with its bytes", "[persistence]") {
  temp_dir dir;
  REQUIRE_FALSE(kiln::durable_fs::write_file(dir.path().string(), "a.png", "first", true));
  REQUIRE_FALSE(
    kiln::durable_fs::write_file(dir.path().string(), "a.png", "second, longer", false));
  CHECK(names_in(dir.path()) == std::vector<std::string>{"a.png"});
  CHECK(kiln::test::read_file(dir / "a.png") == "second, longer");
}

TEST_CASE("a durable write into a missing directory fails and leaves nothing", "[persistence]") {
  temp_dir dir;
  auto failed = kiln::durable_fs::write_file((dir.path() / "missing").string(), "a.png", "x", true);
  CHECK(kiln::has_code(failed, kiln::error_code::unavailable));
  CHECK(names_in(dir.path()).empty());
}

TEST_CASE("nested directories are created, and an existing one is left as it is", "[persistence]") {
  temp_dir dir;
  auto nested = dir.path() / "data" / "files" / "ab";
  REQUIRE_FALSE(kiln::durable_fs::create_directories(nested.string()));
  CHECK(fs::is_directory(nested));
  REQUIRE_FALSE(kiln::durable_fs::create_directories(nested.string()));
}

TEST_CASE("an output goes to its shard, created on first use", "[persistence]") {
  temp_dir dir;
  auto files = (dir.path() / "files").string();
  REQUIRE_FALSE(kiln::durable_fs::create_directories(files));
  auto name = kiln::output_files::name_for("job_01ABCDEFGH", 0, "image/png");
  REQUIRE_FALSE(kiln::output_files::write(files, name, "png bytes", true));
  auto second = kiln::output_files::name_for("job_01ABCDEFGH", 1, "image/gif");
  REQUIRE_FALSE(kiln::output_files::write(files, second, "gif bytes", true));
  REQUIRE_FALSE(kiln::output_files::sync(files, name));
  CHECK(kiln::output_files::read(files, name) == std::optional<std::string>("png bytes"));
  CHECK(kiln::output_files::size(files, second) == std::optional<std::uint64_t>(9));
  CHECK_FALSE(kiln::output_files::size(files, "job_01ABCDEFGH-7.png"));
  // A job's outputs share its shard: one sync makes all their names durable.
  CHECK(names_in(fs::path(files) / "GH") == std::vector<std::string>{name, second});
}
