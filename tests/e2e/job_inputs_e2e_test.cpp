// Inputs on jobs from upload sessions (issue 18, seam S2) on the real binary: an uploaded PNG as
// the source_image of the image-edit model runs on the builtin device and its output is derived
// from it (the source's size, its pixels tinted); each refusal is a 400 naming the field with
// nothing held; a restart keeps the job's inputs.
#include "tests/support/e2e.hpp"

#include "devices/media/audio_render.hpp"
#include "devices/media/image_edit.hpp"
#include "devices/media/media_render.hpp"
#include "tests/support/inference_server.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace kiln::test;

namespace {

/// A session of `key`'s holding `files` (bytes, content type); its id.
std::string upload(http_client& http, const std::string& key,
                   const std::vector<std::pair<std::string, std::string>>& files) {
  auto created = http.post("/v1/uploads", R"({"max_files":4})", key);
  REQUIRE(created.status == 201);
  auto session = json::parse(created.body);
  auto url = session["upload_url"].str();
  auto target = url.substr(url.find("/v1/uploads/")) + "&name=f";
  for (const auto& [bytes, type] : files) {
    auto put = http.request("PUT", target, bytes, {{"Content-Type", type}});
    INFO(put.body);
    REQUIRE(put.status == 201);
  }
  return session["id"].str();
}

std::string edit_body(const std::string& inputs, const std::string& model = "image-edit",
                      const std::string& params = {}) {
  return R"({"type":"image","model":")" + model + R"(","prompt":"make it warmer")" + params +
         (inputs.empty() ? "" : R"(,"inputs":)" + inputs) + "}";
}

std::string fetch_output(http_client& http, const json& job) {
  auto url = job["/output/0/url"].str();
  auto file = http.get(url.substr(url.find("/v1/files/")));
  REQUIRE(file.status == 200);
  return file.body;
}

}  // namespace

TEST_CASE("an uploaded PNG as source_image is edited on the builtin device, and kept on restart",
          "[e2e][job_inputs]") {
  test_server server(builtin_devices);
  auto& http = server.http();
  auto account = create_account(http);
  kiln::media::render_request picture{"a red door", 7, 96, 64, 0};
  auto png = kiln::media::render_png(picture);
  auto id = upload(http, account.key, {{png, "image/png"}});

  auto answer = http.post(
    "/v1/jobs", edit_body(R"([{"role":"source_image","upload_id":")" + id + R"("}])"), account.key);
  INFO(answer.body);
  REQUIRE(answer.status == 201);
  auto created = json::parse(answer.body);
  auto job_id = created["id"].str();
  CHECK(created["inputs"].size() == 1);
  CHECK(created["/inputs/0/role"].str() == "source_image");
  CHECK(created["/inputs/0/upload_id"].str() == id);
  CHECK(created["/inputs/0/file"].integer() == 0);
  CHECK(created["/inputs/0/content_type"].str() == "image/png");
  CHECK(created["/inputs/0/bytes"].integer() == static_cast<std::int64_t>(png.size()));
  CHECK(created["/inputs/0/width"].integer() == 96);
  CHECK(created["/inputs/0/height"].integer() == 64);
  CHECK(created["/params/width"].integer() == 96);  // no size asked: the source's
  CHECK(created["/params/height"].integer() == 64);

  auto done = wait_for_terminal(http, account.key, job_id);
  REQUIRE(done["status"].str() == "succeeded");
  CHECK(done["/output/0/width"].integer() == 96);
  CHECK(done["/output/0/height"].integer() == 64);
  auto bytes = fetch_output(http, done);
  auto output = kiln::media::decode_image(bytes, "image/png");
  REQUIRE(output.width == 96);
  REQUIRE(output.height == 64);
  auto source = kiln::media::decode_image(png, "image/png");
  // The output is 70 % the source and 30 % one tint: out * 10 - source * 7 is the same (three
  // tints, within rounding) at every pixel, which a picture not made from the source is not.
  for (int c = 0; c < 3; ++c) {
    int low = 1 << 20, high = -(1 << 20);
    for (std::size_t i = static_cast<std::size_t>(c); i < source.pixels.size(); i += 3) {
      int tint = static_cast<unsigned char>(output.pixels[i]) * 10 -
                 static_cast<unsigned char>(source.pixels[i]) * 7;
      low = std::min(low, tint);
      high = std::max(high, tint);
    }
    CHECK(high - low <= 10);
  }
  // A render of the same prompt and seed without the source is another picture.
  kiln::media::render_request plain{
    "make it warmer", static_cast<std::uint64_t>(done["/params/seed"].integer()), 96, 64, 0};
  CHECK(bytes != kiln::media::render_png(plain));

  // A size asked is the output's: the source is fitted to it.
  auto sized = submit_job(http, account.key,
                          edit_body(R"([{"role":"source_image","upload_id":")" + id + R"("}])",
                                    "image-edit", R"(,"params":{"width":64,"height":32})"));
  auto resized = wait_for_terminal(http, account.key, sized);
  REQUIRE(resized["status"].str() == "succeeded");
  CHECK(kiln::media::decode_image(fetch_output(http, resized), "image/png").width == 64);

  server.process().kill();
  server.restart();
  auto after = json::parse(server.http().get("/v1/jobs/" + job_id, account.key).body);
  INFO(after.dump());
  CHECK(after["inputs"].size() == 1);
  CHECK(after["/inputs/0/upload_id"].str() == id);
  CHECK(after["/inputs/0/width"].integer() == 96);
  CHECK(after["/inputs/0/content_type"].str() == "image/png");
}

TEST_CASE("inputs that do not fit are refused, naming the field, with nothing held",
          "[e2e][job_inputs]") {
  test_server server;
  auto& http = server.http();
  auto owner = create_account(http);
  auto other = create_account(http, "pro", 1000, "other");
  kiln::media::render_request picture{"a blue boat", 3, 40, 30, 0};
  auto png = kiln::media::render_png(picture);
  auto wav = kiln::media::render_wav(picture, 1000);
  auto mine = upload(http, owner.key, {{png, "image/png"}, {wav, "audio/wav"}});
  auto theirs = upload(http, other.key, {{png, "image/png"}});
  auto before = json::parse(http.get("/v1/balance", owner.key).body);

  auto refused = [&](const std::string& body, const std::string& field) {
    auto answer = http.post("/v1/jobs", body, owner.key);
    INFO(body);
    INFO(answer.body);
    CHECK(answer.status == 400);
    auto error = json::parse(answer.body);
    CHECK(error["/error/code"].str() == "invalid_request");
    CHECK(error["/error/details/field"].str() == field);
  };
  auto one = [](const std::string& role, const std::string& id, int file) {
    return R"({"role":")" + role + R"(","upload_id":")" + id + R"(","file":)" +
           std::to_string(file) + "}";
  };
  refused(edit_body("[" + one("source_image", theirs, 0) + "]"), "inputs[0].upload_id");
  refused(edit_body("[" + one("source_image", "upl_nothing", 0) + "]"), "inputs[0].upload_id");
  refused(edit_body("[" + one("source_image", mine, 3) + "]"), "inputs[0].file");
  refused(edit_body("[" + one("source_image", mine, 1) + "]"), "inputs[0].role");
  refused(
    edit_body("[" + one("source_image", mine, 0) + "," + one("reference_image", mine, 0) + "]"),
    "inputs");
  refused(edit_body("[" + one("source_image", mine, 0) + "]", "flux2-turbo"), "inputs");
  refused(edit_body(""), "inputs");
  refused(edit_body("[" + one("selfie", mine, 0) + "]"), "inputs[0].role");
  refused(edit_body(R"([{"role":"source_image"}])"), "inputs[0].upload_id");
  refused(edit_body(R"({"role":"source_image"})"), "inputs");

  auto after = json::parse(http.get("/v1/balance", owner.key).body);
  CHECK(after.dump() == before.dump());
  CHECK(json::parse(http.get("/v1/jobs", owner.key).body)["data"].size() == 0);

  // The same input on the model that takes up to four images is taken (and shown).
  auto body = R"({"type":"image","model":"qwen-image","prompt":"a boat","inputs":[)" +
              one("reference_image", mine, 0) + "]}";
  auto taken = http.post("/v1/jobs", body, owner.key);
  INFO(taken.body);
  CHECK(taken.status == 201);
  CHECK(json::parse(taken.body)["/inputs/0/width"].integer() == 40);
}

TEST_CASE("an http device's run request carries the inputs by signed URL, which it downloads",
          "[e2e][job_inputs][http_executor]") {
  inference_server model_server;
  test_server server(R"([{"id":"remote","executor":"http","slots":1,"url":")" +
                     model_server.base_url() + R"("}])");
  auto& http = server.http();
  auto account = create_account(http);
  kiln::media::render_request picture{"a green field", 5, 64, 32, 0};
  auto png = kiln::media::render_png(picture);
  auto id = upload(http, account.key, {{png, "image/png"}});
  auto job_id = submit_job(http, account.key,
                           edit_body(R"([{"role":"source_image","upload_id":")" + id + R"("}])"));
  auto done = wait_for_terminal(http, account.key, job_id);
  CHECK(done["status"].str() == "succeeded");
  auto runs = model_server.runs();
  REQUIRE(runs.size() == 1);
  INFO(runs[0].inputs);
  auto inputs = json::parse(runs[0].inputs);
  REQUIRE(inputs.size() == 1);
  CHECK(inputs["/0/role"].str() == "source_image");
  CHECK(inputs["/0/content_type"].str() == "image/png");
  CHECK(inputs["/0/bytes"].integer() == static_cast<std::int64_t>(png.size()));
  CHECK(inputs["/0/width"].integer() == 64);
  CHECK(inputs["/0/height"].integer() == 32);
  CHECK(inputs["/0/url"].str().find("/v1/uploads/" + id + "/files/0?") != std::string::npos);
  REQUIRE(runs[0].input_bytes.size() == 1);
  CHECK(runs[0].input_bytes[0] == png);
  CHECK(runs[0].width == 64);  // the size the job takes from its source
}
