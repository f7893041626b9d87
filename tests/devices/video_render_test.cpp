// Unit tests for the WebM video and its thumbnail, checked by the real decoders: ffprobe counts
// the VP9 frames and reads the duration, ffmpeg decodes every frame without an error, and the
// thumbnail matches the first frame ffmpeg decodes.
#include <png.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>
#include <vector>

#include "config/limits.hpp"
#include "devices/media/media_render.hpp"
#include "devices/media/video_render.hpp"
#include "tests/support/media_probe.hpp"

using kiln::media::read_png_info;
using kiln::media::render_gif;
using kiln::media::render_request;
using kiln::media::render_small_webm;
using kiln::media::render_video_thumbnail;
using kiln::media::render_webm;
using kiln::test::ffmpeg_decode;
using kiln::test::ffprobe;
using kiln::test::media_file;
using kiln::test::run_command;

namespace {

render_request make_request(std::uint32_t width = kiln::limits::video_width,
                            std::uint32_t height = kiln::limits::video_height) {
  render_request request;
  request.prompt = "a lighthouse on a cliff at dusk";
  request.seed = 1234;
  request.width = width;
  request.height = height;
  return request;
}

/// The RGB pixels of a PNG, decoded with libpng's simplified API; empty on failure.
std::vector<unsigned char> decode_png(const std::string& bytes) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  if (png_image_begin_read_from_memory(&image, bytes.data(), bytes.size()) == 0) return {};
  image.format = PNG_FORMAT_RGB;
  std::vector<unsigned char> rgb(PNG_IMAGE_SIZE(image));
  if (png_image_finish_read(&image, nullptr, rgb.data(), 0, nullptr) == 0) return {};
  return rgb;
}

}  // namespace

TEST_CASE("render_webm is a VP9 WebM that ffprobe counts frame by frame and ffmpeg decodes",
          "[media]") {
  for (const std::uint32_t fps : {8U, 24U}) {
    INFO(fps << " fps");
    const std::string webm = render_webm(make_request(), 5, fps);
    REQUIRE(webm.size() > 4);
    CHECK(webm.compare(0, 4, "\x1a\x45\xdf\xa3") == 0);  // the EBML magic
    const media_file file(webm, ".webm");
    const auto probe = ffprobe(file);
    const auto stream = probe["streams"][0];
    CHECK(stream["codec_name"].str() == "vp9");
    CHECK(stream["width"].integer() == 320);
    CHECK(stream["height"].integer() == 180);
    CHECK(stream["nb_read_frames"].str() == std::to_string(5 * fps));
    CHECK(stream["r_frame_rate"].str() == std::to_string(fps) + "/1");
    CHECK(probe["format"]["format_name"].str().find("webm") != std::string::npos);
    CHECK(probe["format"]["duration"].str() == "5.000000");
    const auto decode = ffmpeg_decode(file);
    CHECK(decode.status == 0);
    CHECK(decode.output.empty());
  }
}

TEST_CASE("render_webm is many times smaller than the GIF of the same frames", "[media]") {
  const auto request = make_request();
  const std::string webm = render_webm(request, 5, kiln::limits::video_fps);
  const std::string gif = render_gif(request, 5, kiln::limits::video_fps);
  REQUIRE(!webm.empty());
  CHECK(gif.size() >= 3 * webm.size());
  WARN("5 s 320x180 at " << kiln::limits::video_fps << " fps: WebM " << webm.size()
                         << " bytes, GIF " << gif.size() << " bytes");
}

TEST_CASE("render_webm gives identical bytes for identical inputs", "[media]") {
  const auto request = make_request();
  CHECK(render_webm(request, 3, 8) == render_webm(request, 3, 8));
}

TEST_CASE("render_webm gives different bytes when prompt, seed or output index change", "[media]") {
  const auto base_request = make_request(64, 36);
  const std::string base = render_webm(base_request, 1, 8);
  auto other_prompt = base_request;
  other_prompt.prompt = "a lighthouse on a cliff at dawn";
  auto other_seed = base_request;
  other_seed.seed = 1235;
  auto other_index = base_request;
  other_index.output_index = 1;
  CHECK(render_webm(other_prompt, 1, 8) != base);
  CHECK(render_webm(other_seed, 1, 8) != base);
  CHECK(render_webm(other_index, 1, 8) != base);
}

TEST_CASE("render_webm rejects odd or oversized sides, no frames and too many frames", "[media]") {
  CHECK(render_webm(make_request(321, 180), 1, 8).empty());
  CHECK(render_webm(make_request(320, 181), 1, 8).empty());
  CHECK(render_webm(make_request(0, 180), 1, 8).empty());
  CHECK(render_webm(make_request(4098, 2), 1, 8).empty());
  CHECK(render_webm(make_request(), 0, 8).empty());
  CHECK(render_webm(make_request(), 5, 0).empty());
  CHECK(render_webm(make_request(2, 2), 10001, 1).empty());
  CHECK_FALSE(render_webm(make_request(2, 2), 1, 1).empty());  // the smallest video
}

TEST_CASE("render_video_thumbnail is a PNG of what the WebM's first frame shows", "[media]") {
  const auto request = make_request();
  const std::string thumbnail = render_video_thumbnail(request);
  const auto info = read_png_info(thumbnail);
  CHECK(info.ok);
  CHECK(info.width == 320);
  CHECK(info.height == 180);
  CHECK(thumbnail == render_video_thumbnail(request));

  const media_file file(render_webm(request, 5, kiln::limits::video_fps), ".webm");
  const auto first_frame = run_command("ffmpeg -nostdin -v error -i '" + file.path() +
                                       "' -frames:v 1 -f rawvideo -pix_fmt rgb24 -");
  const std::vector<unsigned char> expected = decode_png(thumbnail);
  REQUIRE(expected.size() == 320 * 180 * 3);
  REQUIRE(first_frame.output.size() == expected.size());
  double difference = 0;
  for (std::size_t i = 0; i < expected.size(); ++i) {
    difference += std::abs(static_cast<unsigned char>(first_frame.output[i]) - expected[i]);
  }
  CHECK(difference / static_cast<double>(expected.size()) < 4.0);  // VP9 and 4:2:0 losses only

  auto other = request;
  other.seed = 1235;
  CHECK(render_video_thumbnail(other) != thumbnail);
  CHECK(render_video_thumbnail(make_request(0, 10)).empty());
}

TEST_CASE("render_small_webm is a tiny valid two-frame WebM whatever size was requested",
          "[media]") {
  const std::string webm = render_small_webm(make_request(1920, 1080));
  CHECK(webm.size() < 4096);
  CHECK(webm == render_small_webm(make_request(1920, 1080)));
  const media_file file(webm, ".webm");
  const auto probe = ffprobe(file);
  CHECK(probe["streams"][0]["codec_name"].str() == "vp9");
  CHECK(probe["streams"][0]["width"].integer() == 32);
  CHECK(probe["streams"][0]["height"].integer() == 32);
  CHECK(probe["streams"][0]["nb_read_frames"].str() == "2");
  CHECK(probe["format"]["duration"].str() == "1.000000");
  CHECK(ffmpeg_decode(file).status == 0);
}
