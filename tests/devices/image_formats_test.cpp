// Unit tests for the WebP and JPEG renders: libwebp and TurboJPEG decode them to exactly the
// requested size, both show the same picture, the bytes are deterministic and vary with the
// request, and the info readers reject what is not theirs.
#include <turbojpeg.h>
#include <webp/decode.h>
#include <catch2/catch.hpp>

#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "devices/media/media_render.hpp"

using kiln::media::read_jpeg_info;
using kiln::media::read_webp_info;
using kiln::media::render_jpeg;
using kiln::media::render_png;
using kiln::media::render_request;
using kiln::media::render_small_jpeg;
using kiln::media::render_small_webp;
using kiln::media::render_webp;

namespace {

render_request make_request(std::uint32_t width, std::uint32_t height) {
  render_request request;
  request.prompt = "a lighthouse on a cliff at dusk";
  request.seed = 1234;
  request.width = width;
  request.height = height;
  return request;
}

/// A decoded picture: RGB bytes and the size the decoder reported.
struct decoded {
  bool ok = false;
  int width = 0;
  int height = 0;
  std::vector<unsigned char> rgb;
};

decoded decode_webp(const std::string& bytes) {
  decoded out;
  unsigned char* rgb = WebPDecodeRGB(reinterpret_cast<const std::uint8_t*>(bytes.data()),
                                     bytes.size(), &out.width, &out.height);
  if (rgb == nullptr) return out;
  out.rgb.assign(rgb, rgb + static_cast<std::size_t>(out.width) * out.height * 3);
  WebPFree(rgb);
  out.ok = true;
  return out;
}

decoded decode_jpeg(const std::string& bytes) {
  decoded out;
  tjhandle tj = tjInitDecompress();
  auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  int subsampling = 0;
  int colourspace = 0;
  if (tjDecompressHeader3(tj, data, bytes.size(), &out.width, &out.height, &subsampling,
                          &colourspace) == 0) {
    out.rgb.resize(static_cast<std::size_t>(out.width) * out.height * 3);
    out.ok = tjDecompress2(tj, data, bytes.size(), out.rgb.data(), out.width, 0, out.height,
                           TJPF_RGB, 0) == 0;
  }
  tjDestroy(tj);
  return out;
}

/// Mean absolute difference per channel of two pictures of the same size.
double mean_difference(const decoded& a, const decoded& b) {
  double sum = 0;
  for (std::size_t i = 0; i < a.rgb.size(); ++i) sum += std::abs(a.rgb[i] - b.rgb[i]);
  return sum / static_cast<double>(a.rgb.size());
}

}  // namespace

TEST_CASE("render_webp and render_jpeg decode to exactly the requested size", "[media]") {
  const std::vector<std::pair<std::uint32_t, std::uint32_t>> sizes{
    {1, 1}, {32, 32}, {512, 512}, {640, 384}, {384, 640}, {1, 300}, {4096, 1024}};
  for (const auto& [width, height] : sizes) {
    INFO("size " << width << "x" << height);
    const std::string webp = render_webp(make_request(width, height));
    const decoded from_webp = decode_webp(webp);
    CHECK(from_webp.ok);
    CHECK(from_webp.width == static_cast<int>(width));
    CHECK(from_webp.height == static_cast<int>(height));
    const auto webp_header = read_webp_info(webp);
    CHECK(webp_header.ok);
    CHECK(webp_header.lossy);
    CHECK(webp_header.width == width);
    CHECK(webp_header.height == height);

    const std::string jpeg = render_jpeg(make_request(width, height));
    const decoded from_jpeg = decode_jpeg(jpeg);
    CHECK(from_jpeg.ok);
    CHECK(from_jpeg.width == static_cast<int>(width));
    CHECK(from_jpeg.height == static_cast<int>(height));
    const auto jpeg_header = read_jpeg_info(jpeg);
    CHECK(jpeg_header.ok);
    CHECK(jpeg_header.chroma_420);
    CHECK(jpeg_header.width == width);
    CHECK(jpeg_header.height == height);
  }
}

TEST_CASE("render_webp and render_jpeg show the same picture", "[media]") {
  const decoded webp = decode_webp(render_webp(make_request(512, 512)));
  const decoded jpeg = decode_jpeg(render_jpeg(make_request(512, 512)));
  REQUIRE(webp.ok);
  REQUIRE(jpeg.ok);
  CHECK(mean_difference(webp, jpeg) < 4.0);  // both lossy copies of one smooth picture
  auto other = make_request(512, 512);
  other.seed = 99;
  CHECK(mean_difference(webp, decode_webp(render_webp(other))) > 10.0);
}

TEST_CASE("render_webp and render_jpeg give identical bytes for identical inputs", "[media]") {
  const auto request = make_request(640, 384);
  CHECK(render_webp(request) == render_webp(request));
  CHECK(render_jpeg(request) == render_jpeg(request));
}

TEST_CASE("render_webp and render_jpeg give different bytes when prompt, seed or index change",
          "[media]") {
  const auto base_request = make_request(256, 256);
  auto other_prompt = base_request;
  other_prompt.prompt = "a lighthouse on a cliff at dawn";
  auto other_seed = base_request;
  other_seed.seed = 1235;
  auto other_index = base_request;
  other_index.output_index = 1;
  for (auto render : {render_webp, render_jpeg}) {
    const std::string base = render(base_request);
    CHECK(render(other_prompt) != base);
    CHECK(render(other_seed) != base);
    CHECK(render(other_index) != base);
  }
}

TEST_CASE("render_webp and render_jpeg reject zero or oversized dimensions", "[media]") {
  for (auto render : {render_webp, render_jpeg}) {
    CHECK(render(make_request(0, 10)).empty());
    CHECK(render(make_request(10, 0)).empty());
    CHECK(render(make_request(4097, 10)).empty());
  }
}

TEST_CASE("the small WebP and JPEG are 32x32 whatever size was requested", "[media]") {
  const std::string webp = render_small_webp(make_request(1920, 1080));
  const auto webp_header = read_webp_info(webp);
  CHECK(webp_header.ok);
  CHECK(webp_header.width == 32);
  CHECK(webp_header.height == 32);
  CHECK(webp.size() < 2048);
  CHECK(webp == render_small_webp(make_request(1920, 1080)));

  const std::string jpeg = render_small_jpeg(make_request(1920, 1080));
  const auto jpeg_header = read_jpeg_info(jpeg);
  CHECK(jpeg_header.ok);
  CHECK(jpeg_header.width == 32);
  CHECK(jpeg_header.height == 32);
  CHECK(jpeg.size() < 2048);
  CHECK(jpeg == render_small_jpeg(make_request(1920, 1080)));
}

TEST_CASE("read_webp_info and read_jpeg_info reject garbage, empty, truncated and other formats",
          "[media]") {
  const std::string webp = render_webp(make_request(64, 48));
  const std::string jpeg = render_jpeg(make_request(64, 48));
  const std::string png = render_png(make_request(64, 48));
  REQUIRE(read_webp_info(webp).ok);
  REQUIRE(read_jpeg_info(jpeg).ok);
  for (const std::string_view bad :
       {std::string_view(), std::string_view("RIFF"), std::string_view("garbage garbage garbage"),
        std::string_view(png)}) {
    CHECK_FALSE(read_webp_info(bad).ok);
    CHECK_FALSE(read_jpeg_info(bad).ok);
  }
  CHECK_FALSE(read_webp_info(std::string(100, '\0')).ok);
  CHECK_FALSE(read_jpeg_info(std::string(100, '\0')).ok);
  CHECK_FALSE(read_webp_info(std::string_view(webp).substr(0, 20)).ok);
  CHECK_FALSE(read_jpeg_info(std::string_view(jpeg).substr(0, 20)).ok);
  CHECK_FALSE(read_webp_info(jpeg).ok);
  CHECK_FALSE(read_jpeg_info(webp).ok);
}
