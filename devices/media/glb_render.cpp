// GLB side of media rendering: one cube in a binary glTF 2.0 file, written by hand (the layout is
// three little-endian words, then two chunks), and a reader that checks the layout and parses the
// JSON chunk with simdjson. The Khronos glTF validator reports no errors or warnings for the cube.
#include <simdjson.h>

#include <array>
#include <bit>
#include <cstring>

#include "devices/media/detail/media_pattern.hpp"
#include "devices/media/model3d_render.hpp"

namespace kiln::media {
namespace {

constexpr std::uint32_t glb_magic = 0x46546C67;  // "glTF"
constexpr std::uint32_t glb_version = 2;
constexpr std::uint32_t chunk_json = 0x4E4F534A;  // "JSON"
constexpr std::uint32_t chunk_bin = 0x004E4942;   // "BIN\0"
constexpr std::uint32_t header_bytes = 12;
constexpr std::uint32_t chunk_header_bytes = 8;
constexpr std::uint32_t positions_bytes = 8 * 3 * 4;          // 8 corners, VEC3 of float32
constexpr std::uint32_t indices_bytes = 36 * 2;               // 12 triangles, uint16
constexpr std::uint64_t model_salt = 0x676c622d'6d6f646cULL;  // "glb-modl": the roughness draw

/// 12 counter-clockwise triangles over the corners (bit 0 = x, bit 1 = y, bit 2 = z).
constexpr std::array<std::uint16_t, 36> cube_indices{4, 6, 2, 4, 2, 0, 1, 3, 7, 1, 7, 5,
                                                     0, 1, 5, 0, 5, 4, 6, 7, 3, 6, 3, 2,
                                                     2, 3, 1, 2, 1, 0, 4, 5, 7, 4, 7, 6};
static_assert(positions_bytes + indices_bytes == 168 && (positions_bytes + indices_bytes) % 4 == 0);

void put_le(std::string& out, std::uint32_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>(value >> (8 * i)));
}

std::uint32_t read_le32(const char* p) {
  std::uint32_t value = 0;
  for (int i = 3; i >= 0; --i) value = (value << 8) | static_cast<unsigned char>(p[i]);
  return value;
}

/// `thousandths` / 1000 as a JSON number with three decimals ("0.250", "1.000").
std::string decimal(std::uint32_t thousandths) {
  std::string digits = std::to_string(thousandths % 1000);
  return std::to_string(thousandths / 1000) + "." + std::string(3 - digits.size(), '0') + digits;
}

std::uint32_t thousandths_of_255(float channel) {
  const float value = channel <= 0 ? 0 : channel >= 255 ? 255 : channel;
  return static_cast<std::uint32_t>(value * (1000.0f / 255.0f) + 0.5f);
}

std::string cube_binary() {
  std::string bin;
  for (std::uint32_t corner = 0; corner < 8; ++corner) {
    for (std::uint32_t axis = 0; axis < 3; ++axis) {
      const float coordinate = ((corner >> axis) & 1U) != 0 ? 0.5f : -0.5f;
      put_le(bin, std::bit_cast<std::uint32_t>(coordinate), 4);
    }
  }
  for (const std::uint16_t index : cube_indices) put_le(bin, index, 2);
  return bin;
}

std::string cube_json(const render_request& request) {
  const detail::scene scene = detail::make_scene(request);
  const detail::rgb colour = scene.blobs[0].colour;
  detail::splitmix64 rng(detail::request_hash(request) ^ model_salt);
  const auto roughness = static_cast<std::uint32_t>(200 + rng.next() % 701);
  const std::string base_colour = decimal(thousandths_of_255(colour.r)) + "," +
                                  decimal(thousandths_of_255(colour.g)) + "," +
                                  decimal(thousandths_of_255(colour.b)) + ",1.000";
  return R"({"asset":{"version":"2.0","generator":"kiln"},"scene":0,"scenes":[{"nodes":[0]}],)"
         R"("nodes":[{"mesh":0}],"meshes":[{"primitives":[{"attributes":{"POSITION":0},)"
         R"("indices":1,"material":0}]}],"materials":[{"pbrMetallicRoughness":{"baseColorFactor":[)" +
         base_colour + R"(],"metallicFactor":0.000,"roughnessFactor":)" + decimal(roughness) +
         R"(}}],"buffers":[{"byteLength":)" + std::to_string(positions_bytes + indices_bytes) +
         R"(}],"bufferViews":[{"buffer":0,"byteOffset":0,"byteLength":)" +
         std::to_string(positions_bytes) + R"(,"target":34962},{"buffer":0,"byteOffset":)" +
         std::to_string(positions_bytes) + R"(,"byteLength":)" + std::to_string(indices_bytes) +
         R"(,"target":34963}],"accessors":[{"bufferView":0,"componentType":5126,"count":8,)"
         R"("type":"VEC3","min":[-0.5,-0.5,-0.5],"max":[0.5,0.5,0.5]},)"
         R"({"bufferView":1,"componentType":5123,"count":36,"type":"SCALAR"}]})";
}

/// Counts the entries of root[key] if it is an array; 0 otherwise.
std::uint32_t array_size(simdjson::dom::element root, const char* key) {
  simdjson::dom::array array;
  if (root[key].get_array().get(array) != simdjson::SUCCESS) return 0;
  return static_cast<std::uint32_t>(array.size());
}

}  // namespace

std::string render_glb(const render_request& request) {
  try {
    std::string json = cube_json(request);
    std::string bin = cube_binary();
    while (json.size() % 4 != 0) json += ' ';
    while (bin.size() % 4 != 0) bin += '\0';
    const auto total =
      static_cast<std::uint32_t>(header_bytes + chunk_header_bytes * 2 + json.size() + bin.size());
    std::string out;
    out.reserve(total);
    put_le(out, glb_magic, 4);
    put_le(out, glb_version, 4);
    put_le(out, total, 4);
    put_le(out, static_cast<std::uint32_t>(json.size()), 4);
    put_le(out, chunk_json, 4);
    out += json;
    put_le(out, static_cast<std::uint32_t>(bin.size()), 4);
    put_le(out, chunk_bin, 4);
    out += bin;
    return out;
  } catch (...) {
    return {};
  }
}

std::string render_small_glb(const render_request& request) { return render_glb(request); }

glb_info read_glb_info(std::string_view bytes) {
  if (bytes.size() < header_bytes + chunk_header_bytes) return {};
  const char* p = bytes.data();
  glb_info info;
  info.version = read_le32(p + 4);
  info.length = read_le32(p + 8);
  info.json_bytes = read_le32(p + 12);
  if (read_le32(p) != glb_magic || info.version != glb_version || info.length != bytes.size() ||
      read_le32(p + 16) != chunk_json || info.json_bytes % 4 != 0 ||
      info.json_bytes > bytes.size() - header_bytes - chunk_header_bytes) {
    return {};
  }
  const std::size_t bin_at = header_bytes + chunk_header_bytes + info.json_bytes;
  if (bin_at != bytes.size()) {  // then a BIN chunk fills the rest exactly
    if (bytes.size() - bin_at < chunk_header_bytes) return {};
    info.bin_bytes = read_le32(p + bin_at);
    if (read_le32(p + bin_at + 4) != chunk_bin || info.bin_bytes % 4 != 0 ||
        info.bin_bytes != bytes.size() - bin_at - chunk_header_bytes) {
      return {};
    }
  }
  try {
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    const simdjson::padded_string json(p + header_bytes + chunk_header_bytes, info.json_bytes);
    std::string_view asset_version;
    if (parser.parse(json).get(root) != simdjson::SUCCESS ||
        root["asset"]["version"].get_string().get(asset_version) != simdjson::SUCCESS ||
        asset_version != "2.0") {
      return {};
    }
    std::uint64_t buffer_bytes = 0;
    simdjson::dom::array buffers;
    if (root["buffers"].get_array().get(buffers) == simdjson::SUCCESS && buffers.size() > 0 &&
        (buffers.at(0)["byteLength"].get_uint64().get(buffer_bytes) != simdjson::SUCCESS ||
         buffer_bytes > info.bin_bytes)) {
      return {};
    }
    info.meshes = array_size(root, "meshes");
    info.accessors = array_size(root, "accessors");
  } catch (...) {
    return {};
  }
  info.ok = true;
  return info;
}

}  // namespace kiln::media
