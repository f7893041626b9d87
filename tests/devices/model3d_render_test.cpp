// Unit tests for the GLB render: the binary glTF layout is right (header, 4-byte aligned JSON and
// BIN chunks, lengths), the JSON parses with a mesh and its accessors, the bytes are deterministic
// and vary with the request, and read_glb_info rejects broken files.
#include <catch2/catch.hpp>
#include <cstring>
#include <string>

#include "devices/media/model3d_render.hpp"
#include "tests/support/json.hpp"

using kiln::media::read_glb_info;
using kiln::media::render_glb;
using kiln::media::render_request;
using kiln::media::render_small_glb;

namespace {

render_request make_request() {
  render_request request;
  request.prompt = "a teapot";
  request.seed = 1234;
  return request;
}

std::uint32_t read_le32(const std::string& bytes, std::size_t at) {
  std::uint32_t value = 0;
  std::memcpy(&value, bytes.data() + at, 4);  // little-endian host (x86-64, arm64)
  return value;
}

void write_le32(std::string& bytes, std::size_t at, std::uint32_t value) {
  std::memcpy(bytes.data() + at, &value, 4);
}

}  // namespace

TEST_CASE("render_glb is a binary glTF 2.0 with one mesh, aligned chunks and exact lengths",
          "[media]") {
  const std::string glb = render_glb(make_request());
  const auto info = read_glb_info(glb);
  REQUIRE(info.ok);
  CHECK(info.version == 2);
  CHECK(info.length == glb.size());
  CHECK(info.meshes == 1);
  CHECK(info.accessors == 2);
  CHECK(info.bin_bytes == 168);  // 8 float32 VEC3 positions + 36 uint16 indices
  CHECK(info.json_bytes % 4 == 0);
  CHECK(glb.size() == 12 + 8 + info.json_bytes + 8 + info.bin_bytes);
  CHECK(glb.compare(0, 4, "glTF") == 0);
  CHECK(glb.compare(16, 4, "JSON") == 0);
  CHECK(glb.compare(20 + info.json_bytes + 4, 4, std::string("BIN\0", 4)) == 0);

  const auto json = kiln::test::json::parse(glb.substr(20, info.json_bytes));
  CHECK(json["asset"]["version"].str() == "2.0");
  CHECK(json["meshes"][0]["primitives"][0]["attributes"]["POSITION"].integer() == 0);
  CHECK(json["accessors"][0]["count"].integer() == 8);
  CHECK(json["accessors"][1]["count"].integer() == 36);
  CHECK(json["buffers"][0]["byteLength"].integer() == 168);
  const auto colour = json["materials"][0]["pbrMetallicRoughness"]["baseColorFactor"];
  REQUIRE(colour.size() == 4);
  for (std::size_t i = 0; i < 4; ++i) {
    CHECK(colour[i].number() >= 0.0);
    CHECK(colour[i].number() <= 1.0);
  }
}

TEST_CASE("render_glb gives identical bytes for identical inputs and varies with the request",
          "[media]") {
  const auto request = make_request();
  const std::string base = render_glb(request);
  CHECK(base == render_glb(request));
  auto other_prompt = request;
  other_prompt.prompt = "a teapot, blue";
  auto other_seed = request;
  other_seed.seed = 1235;
  auto other_index = request;
  other_index.output_index = 1;
  CHECK(render_glb(other_prompt) != base);
  CHECK(render_glb(other_seed) != base);
  CHECK(render_glb(other_index) != base);
  for (std::uint64_t seed = 0; seed < 50; ++seed) {
    auto varied = request;
    varied.seed = seed;
    INFO("seed " << seed);
    CHECK(read_glb_info(render_glb(varied)).ok);
  }
}

TEST_CASE("render_small_glb is the GLB, under a kilobyte", "[media]") {
  const std::string glb = render_small_glb(make_request());
  CHECK(glb == render_glb(make_request()));
  CHECK(glb.size() < 1024);
  CHECK(read_glb_info(glb).ok);
}

TEST_CASE("read_glb_info rejects garbage, truncated and inconsistent files", "[media]") {
  const std::string glb = render_glb(make_request());
  REQUIRE(read_glb_info(glb).ok);
  CHECK_FALSE(read_glb_info("").ok);
  CHECK_FALSE(read_glb_info("glTF").ok);
  CHECK_FALSE(read_glb_info(std::string(100, '\0')).ok);
  CHECK_FALSE(read_glb_info(std::string_view(glb).substr(0, glb.size() - 4)).ok);
  CHECK_FALSE(read_glb_info(std::string_view(glb).substr(0, 40)).ok);
  CHECK_FALSE(read_glb_info(glb + std::string(4, '\0')).ok);

  std::string bad_magic = glb;
  bad_magic[0] = 'x';
  CHECK_FALSE(read_glb_info(bad_magic).ok);
  std::string version_1 = glb;
  write_le32(version_1, 4, 1);
  CHECK_FALSE(read_glb_info(version_1).ok);
  std::string wrong_length = glb;
  write_le32(wrong_length, 8, read_le32(glb, 8) + 4);
  CHECK_FALSE(read_glb_info(wrong_length).ok);
  std::string broken_json = glb;
  broken_json[20] = '[';  // the JSON's opening brace
  CHECK_FALSE(read_glb_info(broken_json).ok);
  std::string old_asset = glb;
  old_asset.replace(old_asset.find("\"2.0\""), 5, "\"1.0\"");
  CHECK_FALSE(read_glb_info(old_asset).ok);
  std::string bin_type = glb;
  bin_type[20 + read_le32(glb, 12) + 4] = 'X';
  CHECK_FALSE(read_glb_info(bin_type).ok);
}
