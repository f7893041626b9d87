// Unit tests for output file names and the content type a stored output is served with.
#include <catch2/catch.hpp>

#include "persistence/output_files.hpp"

namespace files = kiln::output_files;

TEST_CASE("an output's name carries its content type and is served with it again",
          "[persistence]") {
  for (const char* type :
       {"image/png", "image/gif", "image/jpeg", "image/webp", "video/mp4", "video/webm"}) {
    INFO(type);
    auto name = files::name_for("job_01ABC", 2, type);
    CHECK(name.rfind("job_01ABC-2.", 0) == 0);
    CHECK(files::is_valid_name(name));
    CHECK(files::content_type_of(name) == type);
  }
  CHECK(files::name_for("job_1", 0, "text/html") == "job_1-0.bin");
  CHECK(files::content_type_of("job_1-0.bin") == "application/octet-stream");
}
