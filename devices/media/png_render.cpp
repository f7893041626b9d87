// PNG side of media rendering: shades the deterministic scene (gradient + soft circles) row by
// row into an 8-bit RGB PNG encoded in memory with libpng (detail::encode_png, which the video
// thumbnail uses too), and reads a PNG's IHDR back.
#include <png.h>
#include <zlib.h>

#include <csetjmp>
#include <cstring>
#include <vector>

#include "devices/media/detail/image_shader.hpp"
#include "devices/media/detail/png_encode.hpp"
#include "devices/media/media_render.hpp"

namespace kiln::media {
namespace {

constexpr unsigned char png_signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

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

void write_rows(png_structp png, std::uint32_t height, detail::png_row_source rows, void* context) {
  for (std::uint32_t py = 0; py < height; ++py) png_write_row(png, rows(context, py));
}

/// All libpng calls live here, behind setjmp; this frame holds no objects with destructors.
bool encode_rows(png_structp png, png_infop info, std::uint32_t width, std::uint32_t height,
                 detail::png_row_source rows, void* context, std::string* out) {
  if (setjmp(png_jmpbuf(png))) return false;
  png_set_write_fn(png, out, append_to_string, flush_nothing);
  png_set_IHDR(png, info, width, height, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_set_compression_level(png, 1);
  png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_SUB);
  png_write_info(png, info);
  write_rows(png, height, rows, context);
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

const unsigned char* shade_next_row(void* context, std::uint32_t py) {
  auto* shader = static_cast<detail::row_shader*>(context);
  detail::shade_image_row(*shader, py);
  return shader->bytes.data();
}

}  // namespace

std::string detail::encode_png(std::uint32_t width, std::uint32_t height, png_row_source rows,
                               void* context) {
  try {
    std::string out;
    out.reserve(static_cast<std::size_t>(width) * height / 4 + 1024);
    png_writer writer;
    if (writer.info == nullptr) return {};
    if (!encode_rows(writer.png, writer.info, width, height, rows, context, &out)) return {};
    return out;
  } catch (...) {
    return {};
  }
}

std::string render_png(const render_request& request) {
  if (!detail::valid_size(request.width, request.height)) return {};
  try {
    const detail::scene scene = detail::make_scene(request);
    detail::row_shader shader = detail::make_row_shader(scene, request.width, request.height);
    return detail::encode_png(request.width, request.height, shade_next_row, &shader);
  } catch (...) {
    return {};
  }
}

std::string render_small_png(const render_request& request) {
  render_request small = request;
  small.width = small_image_side;
  small.height = small_image_side;
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
