// Every output type on the real binary, checked by a real decoder: images as PNG, WebP and JPEG
// (libpng, libwebp, TurboJPEG), video as VP9 WebM with its thumbnail, or GIF (ffprobe, ffmpeg,
// giflib), speech and music as WAV (ffprobe), JSON documents and GLB models; the sim device's
// small files of each type; and options that are wrong change nothing.
#include "devices/media/audio_render.hpp"
#include "devices/media/media_render.hpp"
#include "devices/media/model3d_render.hpp"
#include "models/catalog.hpp"
#include "tests/support/e2e.hpp"
#include "tests/support/media_probe.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace kiln::test;

namespace {

/// The output's bytes, fetched from its signed URL without a key.
std::string fetch(http_client& http, const json& output) {
  auto url = output["url"].str();
  auto file = http.get(url.substr(url.find("/v1/files/")));
  REQUIRE(file.status == 200);
  CHECK(file.header("content-type") == output["content_type"].str());
  CHECK(static_cast<std::int64_t>(file.body.size()) == output["bytes"].integer());
  return file.body;
}

json run_job(http_client& http, const std::string& key, const std::string& body) {
  auto id = submit_job(http, key, body);
  auto job = wait_for_terminal(http, key, id, std::chrono::seconds(60));
  INFO(job.dump());
  REQUIRE(job["status"].str() == "succeeded");
  return job;
}

/// A catalog with the built-in models plus a json and a 3d model, which the default has none of.
std::string catalog_with_json_and_3d(const temp_dir& dir) {
  std::string models(kiln::builtin_catalog_json());
  auto end = models.rfind(']');
  models.insert(end, R"(,{"id":"tagger","type":"json","credits":1,"unit":"asset",)"
                     R"("fields":["title","mood","tags"],"output_formats":["json"]},)"
                     R"({"id":"trellis","type":"3d","credits":5,"unit":"asset",)"
                     R"("output_formats":["glb"]})");
  return write_file(dir / "catalog.json", models);
}

}  // namespace

TEST_CASE("Images come as PNG, WebP or JPEG of the asked size, as the option says",
          "[e2e][media]") {
  test_server server(builtin_devices);
  auto& http = server.http();
  auto account = create_account(http, "pro", 100);
  for (std::string format : {"png", "webp", "jpeg"}) {
    INFO(format);
    auto job = run_job(http, account.key,
                       R"({"type":"image","model":"flux2-turbo","prompt":"a harbour",)"
                       R"("params":{"width":640,"height":384},"options":{"output_format":")" +
                         format + R"("}})");
    CHECK(job["/options/output_format"].str() == format);
    auto output = job["output"][0];
    CHECK(output["role"].str() == "primary");
    CHECK(output["width"].integer() == 640);
    auto bytes = fetch(http, output);
    if (format == "png") {
      auto info = kiln::media::read_png_info(bytes);
      CHECK((info.ok && info.width == 640 && info.height == 384));
    } else if (format == "webp") {
      auto info = kiln::media::read_webp_info(bytes);
      CHECK((info.ok && info.width == 640 && info.height == 384));
    } else {
      auto info = kiln::media::read_jpeg_info(bytes);
      CHECK((info.ok && info.width == 640 && info.height == 384));
    }
  }
}

TEST_CASE("A video is a VP9 WebM of the asked length with a first-frame thumbnail; GIF on request",
          "[e2e][media]") {
  test_server server(builtin_devices);
  auto& http = server.http();
  auto account = create_account(http, "pro", 1000);
  auto job = run_job(http, account.key,
                     R"({"type":"video","model":"seedance","prompt":"waves",)"
                     R"("params":{"duration_seconds":5,"seed":7}})");
  REQUIRE(job["output"].size() == 2);
  auto video = job["output"][0];
  CHECK(video["content_type"].str() == "video/webm");
  CHECK(video["role"].str() == "primary");
  CHECK(video["duration_seconds"].number() == 5.0);
  media_file webm(fetch(http, video), ".webm");
  auto probe = ffprobe(webm);
  CHECK(probe["/streams/0/codec_name"].str() == "vp9");
  CHECK(probe["/streams/0/width"].integer() == 320);
  CHECK(probe["/streams/0/height"].integer() == 180);
  CHECK(probe["/streams/0/nb_read_frames"].str() == "120");  // 5 s at seedance's 24 fps
  CHECK(probe["/format/duration"].str() == "5.000000");
  CHECK(ffmpeg_decode(webm).output.empty());
  auto thumbnail = job["output"][1];
  CHECK(thumbnail["role"].str() == "thumbnail");
  auto still = kiln::media::read_png_info(fetch(http, thumbnail));
  CHECK((still.ok && still.width == 320 && still.height == 180));

  auto gif = run_job(http, account.key,
                     R"({"type":"video","model":"seedance","prompt":"waves",)"
                     R"("options":{"output_format":"gif"}})");
  CHECK(gif["/output/0/content_type"].str() == "image/gif");
  auto frames = kiln::media::read_gif_info(fetch(http, gif["output"][0]));
  CHECK((frames.ok && frames.frames == 120));
}

TEST_CASE(
  "Speech lasts as long as its text takes to say; music as long as asked; neither is "
  "silence",
  "[e2e][media]") {
  test_server server(builtin_devices);
  auto& http = server.http();
  auto account = create_account(http, "pro", 1000);
  const std::string text(450, 'a');  // 450 characters at 15 a second: 30 s
  auto speech = run_job(http, account.key,
                        R"({"type":"audio","model":"gemini-tts","prompt":")" + text + R"("})");
  CHECK(speech["credits_used"].integer() == 4);
  auto said = speech["output"][0];
  CHECK(said["content_type"].str() == "audio/wav");
  CHECK(said["duration_seconds"].number() == 30.0);
  media_file wav(fetch(http, said), ".wav");
  auto probe = ffprobe(wav);
  CHECK(probe["/streams/0/codec_name"].str() == "pcm_s16le");
  CHECK(probe["/streams/0/sample_rate"].str() == "24000");
  CHECK(probe["/format/duration"].str() == "30.000000");

  auto song = run_job(http, account.key,
                      R"({"type":"audio","model":"ace-step","prompt":"lofi",)"
                      R"("params":{"duration_seconds":15}})");
  auto bytes = fetch(http, song["output"][0]);
  auto info = kiln::media::read_wav_info(bytes);
  CHECK((info.ok && info.duration_ms == 15000));
  CHECK(info.peak > 4000);  // not silence
  media_file music(bytes, ".wav");
  CHECK(ffprobe(music)["/format/duration"].str() == "15.000000");
}

TEST_CASE("JSON models write their fields; 3D models write a valid GLB", "[e2e][media]") {
  temp_dir files;
  test_server server(builtin_devices,
                     R"("catalog_file":")" + catalog_with_json_and_3d(files) + R"(")");
  auto& http = server.http();
  auto account = create_account(http, "pro", 100);
  auto tagged = run_job(http, account.key, R"({"type":"json","model":"tagger","prompt":"a fox"})");
  CHECK(tagged["/output/0/content_type"].str() == "application/json");
  auto doc = json::parse(fetch(http, tagged["output"][0]));
  for (const char* field : {"title", "mood", "tags"}) CHECK_FALSE(doc[field].str().empty());
  CHECK(doc["prompt"].str() == "a fox");

  auto mesh = run_job(http, account.key, R"({"type":"3d","model":"trellis","prompt":"a chair"})");
  CHECK(mesh["/output/0/content_type"].str() == "model/gltf-binary");
  auto glb = kiln::media::read_glb_info(fetch(http, mesh["output"][0]));
  CHECK(glb.ok);
  CHECK(glb.version == 2);
  CHECK(glb.meshes == 1);
}

TEST_CASE("A sim device writes a small real file of each job's own type", "[e2e][media]") {
  temp_dir files;
  test_server server(sim_devices, R"("catalog_file":")" + catalog_with_json_and_3d(files) + R"(")");
  auto& http = server.http();
  auto account = create_account(http, "pro", 1000);
  auto video = run_job(http, account.key, R"({"type":"video","model":"seedance","prompt":"p"})");
  CHECK(video["/output/0/content_type"].str() == "video/webm");
  CHECK(video["/output/1/role"].str() == "thumbnail");  // the same outputs as the builtin's
  media_file webm(fetch(http, video["output"][0]), ".webm");
  CHECK(ffprobe(webm)["/streams/0/codec_name"].str() == "vp9");
  auto speech =
    run_job(http, account.key, R"({"type":"audio","model":"gemini-tts","prompt":"hi"})");
  CHECK(kiln::media::read_wav_info(fetch(http, speech["output"][0])).ok);
  auto picture = run_job(
    http, account.key,
    R"({"type":"image","model":"flux2-turbo","prompt":"p","options":{"output_format":"jpeg"}})");
  CHECK(kiln::media::read_jpeg_info(fetch(http, picture["output"][0])).ok);
  auto mesh = run_job(http, account.key, R"({"type":"3d","model":"trellis","prompt":"p"})");
  CHECK(kiln::media::read_glb_info(fetch(http, mesh["output"][0])).ok);
  auto doc = run_job(http, account.key, R"({"type":"json","model":"tagger","prompt":"p"})");
  CHECK(json::parse(fetch(http, doc["output"][0])).has("tags"));
}

TEST_CASE("Bad options are 400 naming the field and change nothing", "[e2e][media]") {
  test_server server;
  auto& http = server.http();
  auto account = create_account(http, "pro", 100);
  struct bad {
    std::string body;
    std::string field;
  };
  const bad cases[] = {
    {R"({"type":"image","model":"flux2-turbo","prompt":"p","options":{"colour":"red"}})",
     "options.colour"},
    {R"({"type":"image","model":"flux2-turbo","prompt":"p","options":{"output_format":"bmp"}})",
     "options.output_format"},
    {R"({"type":"image","model":"flux2-turbo","prompt":"p","options":{"output_format":3}})",
     "options.output_format"},
    {R"({"type":"image","model":"flux2-turbo","prompt":"p","options":{"high_detail":true}})",
     "options.high_detail"},  // qwen-image's option, not flux's
    {R"({"type":"audio","model":"merca-music","prompt":"p","options":{"bpm":500}})", "options.bpm"},
    {R"({"type":"image","model":"flux2-turbo","prompt":"p","options":"webp"})", "options"},
  };
  for (const auto& c : cases) {
    INFO(c.body);
    for (const char* path : {"/v1/jobs", "/v1/jobs/estimate"}) {
      auto answer = http.post(path, c.body, account.key);
      CHECK(answer.status == 400);
      auto error = json::parse(answer.body)["error"];
      CHECK(error["code"].str() == "invalid_request");
      CHECK(error["/details/field"].str() == c.field);
    }
  }
  CHECK(json::parse(http.get("/v1/jobs", account.key).body)["data"].size() == 0);
  auto balance = json::parse(http.get("/v1/balance", account.key).body);
  CHECK(balance["available"].integer() == 100);
  CHECK(balance["held"].integer() == 0);
  // Estimates price the options: qwen-image with high detail is 4 + 50%.
  auto estimate = json::parse(
    http
      .post(
        "/v1/jobs/estimate",
        R"({"type":"image","model":"qwen-image","prompt":"p","n":3,"options":{"high_detail":true}})",
        account.key)
      .body);
  CHECK(estimate["credits"].integer() == 18);
}
