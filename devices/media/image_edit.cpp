// Image edit for the builtin device: decode (libpng's simplified API, TurboJPEG), resize, tint.
#include "devices/media/image_edit.hpp"

#include "devices/media/detail/png_encode.hpp"

#include <png.h>
#include <turbojpeg.h>

#include <functional>
#include <string_view>
#include <vector>

namespace kiln::media {
namespace {

constexpr std::uint32_t side_max = 4096;

rgb_image decode_png(std::string_view bytes) {
  png_image image{};
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&image, bytes.data(), bytes.size())) return {};
  if (image.width == 0 || image.height == 0 || image.width > side_max || image.height > side_max) {
    png_image_free(&image);
    return {};
  }
  image.format = PNG_FORMAT_RGB;
  rgb_image out;
  out.pixels.resize(PNG_IMAGE_SIZE(image));
  if (!png_image_finish_read(&image, nullptr, out.pixels.data(), 0, nullptr)) {
    png_image_free(&image);
    return {};
  }
  out.width = image.width;
  out.height = image.height;
  return out;
}

rgb_image decode_jpeg(std::string_view bytes) {
  tjhandle handle = tjInitDecompress();
  if (handle == nullptr) return {};
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  auto size = static_cast<unsigned long>(bytes.size());
  int width = 0, height = 0, subsampling = 0, colorspace = 0;
  rgb_image out;
  if (tjDecompressHeader3(handle, data, size, &width, &height, &subsampling, &colorspace) == 0 &&
      width > 0 && height > 0 && width <= static_cast<int>(side_max) &&
      height <= static_cast<int>(side_max)) {
    out.pixels.resize(static_cast<std::size_t>(width) * static_cast<std::size_t>(height) * 3);
    auto* target = reinterpret_cast<unsigned char*>(out.pixels.data());
    if (tjDecompress2(handle, data, size, target, width, 0, height, TJPF_RGB, 0) == 0) {
      out.width = static_cast<std::uint32_t>(width);
      out.height = static_cast<std::uint32_t>(height);
    } else {
      out.pixels.clear();
    }
  }
  tjDestroy(handle);
  return out;
}

struct edit_rows {
  const rgb_image* source;
  std::uint32_t width;
  std::uint32_t height;
  unsigned char tint[3];
  std::vector<unsigned char> row;
};

const unsigned char* edit_row(void* context, std::uint32_t py) {
  auto* e = static_cast<edit_rows*>(context);
  const auto& s = *e->source;
  auto sy = static_cast<std::uint64_t>(py) * s.height / e->height;
  const auto* line = reinterpret_cast<const unsigned char*>(s.pixels.data()) + sy * s.width * 3;
  for (std::uint32_t px = 0; px < e->width; ++px) {
    auto sx = static_cast<std::uint64_t>(px) * s.width / e->width;
    for (int c = 0; c < 3; ++c)  // 70 % source, 30 % tint
      e->row[px * 3 + static_cast<std::uint32_t>(c)] = static_cast<unsigned char>(
        (line[sx * 3 + static_cast<std::uint64_t>(c)] * 7 + e->tint[c] * 3) / 10);
  }
  return e->row.data();
}

}  // namespace

rgb_image decode_image(std::string_view bytes, std::string_view content_type) {
  if (content_type == "image/png") return decode_png(bytes);
  if (content_type == "image/jpeg") return decode_jpeg(bytes);
  return {};
}

std::string render_edit_png(const rgb_image& source, const render_request& request) {
  if (source.width == 0 || source.height == 0 || request.width == 0 || request.height == 0)
    return {};
  auto mix = std::hash<std::string_view>{}(request.prompt) ^
             (request.seed * 0x9E3779B97F4A7C15ull) ^ (std::uint64_t{request.output_index} << 40);
  edit_rows rows{&source, request.width, request.height, {}, {}};
  for (int c = 0; c < 3; ++c) rows.tint[c] = static_cast<unsigned char>(mix >> (c * 8));
  rows.row.resize(std::size_t{request.width} * 3);
  return detail::encode_png(request.width, request.height, edit_row, &rows);
}

}  // namespace kiln::media
