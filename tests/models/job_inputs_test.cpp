// Unit tests for job inputs (models/job_inputs.hpp): the body's `inputs`, the model's
// capabilities, the upload file each names, and the size an edit takes from its source.
#include <catch2/catch.hpp>

#include "models/catalog.hpp"
#include "models/job_inputs.hpp"
#include "models/job_request.hpp"

#include <string>

namespace {

caf::expected<kiln::job_spec> parse(const std::string& model, const std::string& inputs) {
  auto body = R"({"type":"image","model":")" + model + R"(","prompt":"p")" +
              (inputs.empty() ? "" : R"(,"inputs":)" + inputs) + "}";
  return kiln::parse_job_request(body, kiln::catalog::builtin(), 1);
}

std::string field_of(const caf::error& error) { return kiln::to_api_error(error).field; }

kiln::upload_session session_of_two() {
  kiln::upload_session s;
  s.id = "upl_1";
  s.account_id = "acct_1";
  kiln::upload_file png;
  png.index = 0;
  png.content_type = "image/png";
  png.bytes = 1000;
  png.width = 640;
  png.height = 480;
  kiln::upload_file wav;
  wav.index = 1;
  wav.content_type = "audio/wav";
  wav.bytes = 2000;
  wav.duration_us = 1'500'000;
  s.files = {png, wav};
  return s;
}

}  // namespace

TEST_CASE("inputs are read with a default file and checked against the model", "[models]") {
  auto spec = parse("image-edit", R"([{"role":"source_image","upload_id":"upl_1"}])");
  REQUIRE(spec);
  REQUIRE(spec->inputs.size() == 1);
  CHECK(spec->inputs[0].file == 0);
  CHECK(spec->params.width == 0);  // from the source, once it is known
  CHECK(field_of(parse("image-edit", "").error()) == "inputs");
  CHECK(field_of(parse("flux2-turbo", R"([{"role":"source_image","upload_id":"u"}])").error()) ==
        "inputs");
  CHECK(field_of(parse("image-edit", R"([{"role":"source_image","upload_id":"u"},)"
                                     R"({"role":"start_frame","upload_id":"u","file":1}])")
                   .error()) == "inputs");
  CHECK(parse("qwen-image", R"([{"role":"reference_image","upload_id":"u"},)"
                            R"({"role":"reference_audio","upload_id":"u","file":1}])"));
  CHECK(field_of(parse("qwen-image", R"([{"role":"x","upload_id":"u"}])").error()) ==
        "inputs[0].role");
  CHECK(field_of(
          parse("qwen-image", R"([{"role":"source_image","upload_id":"u","file":-1}])").error()) ==
        "inputs[0].file");
  CHECK(field_of(
          parse("qwen-image", R"([{"role":"source_image","upload_id":"u","extra":1}])").error()) ==
        "inputs[0].extra");
  CHECK(field_of(parse("qwen-image", R"([1])").error()) == "inputs[0]");
}

TEST_CASE("an input takes its upload file's probe, if the file is there and fits the role",
          "[models]") {
  auto session = session_of_two();
  kiln::job_input input{"source_image", "upl_1", 0, "", 0, 0, 0, 0};
  REQUIRE_FALSE(kiln::resolve_job_input(input, 0, session));
  CHECK(input.content_type == "image/png");
  CHECK(input.width == 640);
  kiln::job_input audio{"source_image", "upl_1", 1, "", 0, 0, 0, 0};
  CHECK(field_of(kiln::resolve_job_input(audio, 2, session)) == "inputs[2].role");
  kiln::job_input voice{"reference_audio", "upl_1", 1, "", 0, 0, 0, 0};
  REQUIRE_FALSE(kiln::resolve_job_input(voice, 0, session));
  CHECK(voice.duration_us == 1'500'000);
  kiln::job_input missing{"source_image", "upl_1", 5, "", 0, 0, 0, 0};
  CHECK(field_of(kiln::resolve_job_input(missing, 0, session)) == "inputs[0].file");
  session.files_deleted_at_ms = 1;
  CHECK(field_of(kiln::resolve_job_input(input, 0, session)) == "inputs[0].upload_id");

  kiln::job_spec spec;
  spec.type = "image";
  spec.inputs = {voice, input};
  REQUIRE_FALSE(kiln::size_from_source(spec));
  CHECK(spec.params.width == 640);
  CHECK(spec.params.height == 480);
  spec.params = {};
  spec.inputs[1].width = spec.inputs[1].height = 4096;
  CHECK(field_of(kiln::size_from_source(spec)) == "inputs[1]");
}
