// PNG side of media rendering: shades the deterministic scene (gradient + soft circles) row by
// row into an 8-bit RGB PNG encoded in memory with libpng, and reads a PNG's IHDR back.
#include <png.h>
#include <zlib.h>

#include <csetjmp>
#include <cstring>
#include <vector>

#include "devices/media/detail/media_pattern.hpp"
#include "devices/media/media_render.hpp"

namespace kiln::media {
namespace {

constexpr std::uint32_t small_png_side = 32;
constexpr unsigned char png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

/// Scratch state for shading one row at a time.
struct row_shader {
  const detail::scene* scene = nullptr;
  detail::gradient_axis axis;
  float pixel = 1;
  std::uint32_t width = 0;
  std::vector<float> colour;         // width * 3 floats in [0, 255]
  std::vector<unsigned char> bytes;  // width * 3 bytes, the PNG row
};

row_shader make_row_shader(const detail::scene& scene, std::uint32_t width, std::uint32_t height) {
  row_shader shader;
  shader.scene = &scene;
  shader.axis = detail::make_gradient_axis(scene);
  shader.pixel = 1.0f / static_cast<float>(width > height ? width : height);
  shader.width = width;
  shader.colour.resize(static_cast<std::size_t>(width) * 3);
  shader.bytes.resize(static_cast<std::size_t>(width) * 3);
  return shader;
}

void shade_gradient(row_shader& shader, float y) {
  const detail::scene& s = *shader.scene;
  const float base = (y * s.dir_y - shader.axis.origin) * shader.axis.scale;
  const float step = s.dir_x * shader.pixel * shader.axis.scale;
  float* out = shader.colour.data();
  for (std::uint32_t px = 0; px < shader.width; ++px, out += 3) {
    const float t = base + (static_cast<float>(px) + 0.5f) * step;
    out[0] = s.from.r + (s.to.r - s.from.r) * t;
    out[1] = s.from.g + (s.to.g - s.from.g) * t;
    out[2] = s.from.b + (s.to.b - s.from.b) * t;
  }
}

void shade_blob(row_shader& shader, const detail::blob& b, std::uint32_t py) {
  const float r2 = b.radius * b.radius;
  const float inv_r2 = 1.0f / r2;
  const float pixel = shader.pixel;
  float* colour = shader.colour.data();
  detail::for_blob_span(b.x, b.y, r2, py, shader.width, pixel,
                        [&](std::uint32_t begin, std::uint32_t end, float dy2) {
                          for (std::uint32_t px = begin; px < end; ++px) {
                            const float dx = (static_cast<float>(px) + 0.5f) * pixel - b.x;
                            const float q = 1.0f - (dx * dx + dy2) * inv_r2;
                            if (q <= 0) continue;
                            const float w = q * q * b.strength;
                            float* out = colour + static_cast<std::size_t>(px) * 3;
                            out[0] += (b.colour.r - out[0]) * w;
                            out[1] += (b.colour.g - out[1]) * w;
                            out[2] += (b.colour.b - out[2]) * w;
                          }
                        });
}

void shade_row(row_shader& shader, std::uint32_t py) {
  shade_gradient(shader, (static_cast<float>(py) + 0.5f) * shader.pixel);
  for (std::uint32_t i = 0; i < shader.scene->blob_count; ++i) {
    shade_blob(shader, shader.scene->blobs[i], py);
  }
  const std::size_t count = shader.colour.size();
  for (std::size_t i = 0; i < count; ++i) {
    const float v = shader.colour[i];
    shader.bytes[i] = static_cast<unsigned char>(v <= 0 ? 0 : v >= 255 ? 255 : v + 0.5f);
  }
}

void append_to_string(png_structp png, png_bytep data, png_size_t length) {
  auto* out = static_cast<std::string*>(png_get_io_ptr(png));
  bool failed = false;
  try {
    out->append(reinterpret_cast<const char*>(data), length);
  } catch (...) {
    failed = true;
  }
  if (failed) png_error(png, "out of memory");
}

void flush_nothing(png_structp) {}
void ignore_warning(png_structp, png_const_charp) {}
void jump_on_error(png_structp png, png_const_charp) { png_longjmp(png, 1); }

void write_rows(png_structp png, row_shader* shader, std::uint32_t height) {
  for (std::uint32_t py = 0; py < height; ++py) {
    shade_row(*shader, py);
    png_write_row(png, shader->bytes.data());
  }
}

/// All libpng calls live here, behind setjmp; this frame holds no objects with destructors.
bool encode_png(png_structp png, png_infop info, row_shader* shader, std::uint32_t height,
                std::string* out) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_write_fn(png, out, append_to_string, flush_nothing);
  png_set_IHDR(png, info, shader->width, height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_set_compression_level(png, 1);
  png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_SUB);
  png_write_info(png, info);
  write_rows(png, shader, height);
  png_write_end(png, info);
  return true;
}

/// Owns the libpng write structs so they are freed on every path.
struct png_writer {
  png_structp png = nullptr;
  png_infop info = nullptr;
  png_writer() {
    png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, jump_on_error, ignore_warning);
    if (png != nullptr) info = png_create_info_struct(png);
  }
  ~png_writer() { png_destroy_write_struct(&png, &info); }
  png_writer(const png_writer&) = delete;
  png_writer& operator=(const png_writer&) = delete;
};

std::uint32_t read_be32(const unsigned char* p) {
  return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
         std::uint32_t{p[3]};
}

}  // namespace

std::string render_png(const render_request& request) {
  if (!detail::valid_size(request.width, request.height)) return {};
  try {
    const detail::scene scene = detail::make_scene(request);
    row_shader shader = make_row_shader(scene, request.width, request.height);
    std::string out;
    out.reserve(static_cast<std::size_t>(request.width) * request.height / 4 + 1024);
    png_writer writer;
    if (writer.info == nullptr) return {};
    if (!encode_png(writer.png, writer.info, &shader, request.height, &out)) return {};
    return out;
  } catch (...) {
    return {};
  }
}

std::string render_small_png(const render_request& request) {
  render_request small = request;
  small.width = small_png_side;
  small.height = small_png_side;
  return render_png(small);
}

png_info read_png_info(std::string_view bytes) {
  // signature (8) + IHDR chunk (4 length + 4 type + 13 data + 4 CRC) + IEND chunk (12).
  constexpr std::size_t ihdr_end = 8 + 8 + 13 + 4;
  constexpr unsigned char iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xae, 0x42, 0x60, 0x82};
  if (bytes.size() < ihdr_end + sizeof iend) return {};
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  if (std::memcmp(p, png_signature, sizeof png_signature) != 0) return {};
  if (read_be32(p + 8) != 13 || std::memcmp(p + 12, "IHDR", 4) != 0) return {};
  const uLong crc = crc32(crc32(0L, Z_NULL, 0), p + 12, 4 + 13);
  if (crc != read_be32(p + 29)) return {};
  if (std::memcmp(p + bytes.size() - sizeof iend, iend, sizeof iend) != 0) return {};
  png_info info;
  info.width = read_be32(p + 16);
  info.height = read_be32(p + 20);
  info.ok =
    info.width != 0 && info.height != 0 && info.width <= 0x7fffffffU && info.height <= 0x7fffffffU;
  return info;
}

}  // namespace kiln::media
