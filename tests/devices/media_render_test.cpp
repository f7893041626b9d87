// Unit tests for media rendering: PNG/GIF output is real, correctly sized, deterministic and
// varies with prompt, seed and output index; the info readers reject bad input.
#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "devices/media/media_render.hpp"

using kiln::media::read_gif_info;
using kiln::media::read_png_info;
using kiln::media::render_gif;
using kiln::media::render_png;
using kiln::media::render_request;
using kiln::media::render_small_png;

namespace {

render_request make_request(std::uint32_t width, std::uint32_t height) {
  render_request request;
  request.prompt = "a lighthouse on a cliff at dusk";
  request.seed = 1234;
  request.width = width;
  request.height = height;
  return request;
}

bool has_png_magic(const std::string& bytes) {
  return bytes.size() >= 8 && bytes.compare(0, 8, "\x89PNG\r\n\x1a\n") == 0;
}

}  // namespace

TEST_CASE("render_png produces a PNG of exactly the requested dimensions", "[media]") {
  const std::vector<std::pair<std::uint32_t, std::uint32_t>> sizes{
    {1, 1}, {32, 32}, {512, 512}, {640, 384}, {384, 640}, {1, 300}, {2048, 2048}};
  for (const auto& [width, height] : sizes) {
    INFO("size " << width << "x" << height);
    const std::string png = render_png(make_request(width, height));
    REQUIRE(has_png_magic(png));
    const auto info = read_png_info(png);
    CHECK(info.ok);
    CHECK(info.width == width);
    CHECK(info.height == height);
  }
}

// How fast it renders is a figure of benchmarks/media_bench, not a test.
TEST_CASE("render_png renders the largest areas and sides it accepts as valid PNGs of that size",
          "[media]") {
  for (auto [width, height] : {std::pair{2048u, 2048u}, std::pair{4096u, 1024u}}) {
    INFO(width << "x" << height);
    const auto info = read_png_info(render_png(make_request(width, height)));
    CHECK(info.ok);
    CHECK(info.width == width);
    CHECK(info.height == height);
  }
}

TEST_CASE("render_png gives identical bytes for identical inputs", "[media]") {
  const auto request = make_request(640, 384);
  CHECK(render_png(request) == render_png(request));
}

TEST_CASE("render_png gives different bytes when prompt, seed or output index change", "[media]") {
  const auto base_request = make_request(256, 256);
  const std::string base = render_png(base_request);

  auto other_prompt = base_request;
  other_prompt.prompt = "a lighthouse on a cliff at dawn";
  auto other_seed = base_request;
  other_seed.seed = 1235;
  auto other_index = base_request;
  other_index.output_index = 1;

  CHECK(render_png(other_prompt) != base);
  CHECK(render_png(other_seed) != base);
  CHECK(render_png(other_index) != base);
}

TEST_CASE("render_png rejects zero or oversized dimensions with an empty result", "[media]") {
  CHECK(render_png(make_request(0, 10)).empty());
  CHECK(render_png(make_request(10, 0)).empty());
  CHECK(render_png(make_request(4097, 10)).empty());
}

TEST_CASE("render_small_png is a 32x32 PNG whatever size was requested", "[media]") {
  const std::string png = render_small_png(make_request(1920, 1080));
  REQUIRE(has_png_magic(png));
  const auto info = read_png_info(png);
  CHECK(info.ok);
  CHECK(info.width == 32);
  CHECK(info.height == 32);
  CHECK(png == render_small_png(make_request(1920, 1080)));
}

TEST_CASE("render_gif is a looping GIF89a with the right size and frame count", "[media]") {
  const std::string gif = render_gif(make_request(320, 180), 5, 8);
  REQUIRE(gif.size() > 6);
  CHECK(gif.compare(0, 6, "GIF89a") == 0);
  CHECK(gif.find("NETSCAPE2.0") != std::string::npos);
  const auto info = read_gif_info(gif);
  CHECK(info.ok);
  CHECK(info.width == 320);
  CHECK(info.height == 180);
  CHECK(info.frames == 40);
  WARN("render_gif 320x180, 5 s at 8 fps: " << gif.size() << " bytes");
}

TEST_CASE("render_gif is deterministic and varies with the seed", "[media]") {
  const auto request = make_request(97, 61);
  const std::string gif = render_gif(request, 2, 5);
  CHECK(gif == render_gif(request, 2, 5));
  auto other = request;
  other.seed = 99;
  CHECK(render_gif(other, 2, 5) != gif);
  const auto info = read_gif_info(gif);
  CHECK(info.ok);
  CHECK(info.width == 97);
  CHECK(info.height == 61);
  CHECK(info.frames == 10);
}

TEST_CASE("render_gif always produces at least one frame", "[media]") {
  const auto info = read_gif_info(render_gif(make_request(16, 16), 0, 8));
  CHECK(info.ok);
  CHECK(info.frames == 1);
}

TEST_CASE("read_png_info rejects garbage, empty and truncated input", "[media]") {
  const std::string png = render_png(make_request(64, 48));
  CHECK_FALSE(read_png_info("").ok);
  CHECK_FALSE(read_png_info("not a png at all, just some text that is long enough").ok);
  CHECK_FALSE(read_png_info(std::string(100, '\0')).ok);
  CHECK_FALSE(read_png_info(std::string_view(png).substr(0, 8)).ok);
  CHECK_FALSE(read_png_info(std::string_view(png).substr(0, 20)).ok);
  CHECK_FALSE(read_png_info(std::string_view(png).substr(0, png.size() / 2)).ok);
  CHECK_FALSE(read_png_info(std::string_view(png).substr(0, png.size() - 1)).ok);
  std::string corrupt_ihdr = png;
  corrupt_ihdr[17] ^= 0x01;  // width byte: CRC no longer matches
  CHECK_FALSE(read_png_info(corrupt_ihdr).ok);
  CHECK_FALSE(read_png_info(render_gif(make_request(8, 8), 1, 1)).ok);
}

TEST_CASE("read_gif_info rejects garbage, empty and truncated input", "[media]") {
  const std::string gif = render_gif(make_request(40, 30), 1, 4);
  REQUIRE(read_gif_info(gif).ok);
  CHECK_FALSE(read_gif_info("").ok);
  CHECK_FALSE(read_gif_info("GIF89a").ok);
  CHECK_FALSE(read_gif_info("garbage garbage garbage garbage garbage").ok);
  CHECK_FALSE(read_gif_info(std::string(200, '\xff')).ok);
  CHECK_FALSE(read_gif_info(std::string_view(gif).substr(0, 13)).ok);
  CHECK_FALSE(read_gif_info(std::string_view(gif).substr(0, gif.size() / 2)).ok);
  CHECK_FALSE(read_gif_info(std::string_view(gif).substr(0, gif.size() - 1)).ok);
  CHECK_FALSE(read_gif_info(render_png(make_request(8, 8))).ok);
}
