// JPEG side of media rendering: the picture of render_png encoded as a baseline JPEG with
// libjpeg-turbo's TurboJPEG API, and a reader of a JPEG's header. TurboJPEG reports errors by
// return value (the classic libjpeg API would exit() the process on some).
#include <turbojpeg.h>

#include <vector>

#include "devices/media/detail/image_shader.hpp"
#include "devices/media/media_render.hpp"

namespace kiln::media {
namespace {

constexpr int jpeg_quality = 85;

/// Owns a TurboJPEG handle and the buffer it allocates.
struct turbojpeg_handle {
  tjhandle handle = nullptr;
  unsigned char* buffer = nullptr;
  explicit turbojpeg_handle(tjhandle h) : handle(h) {}
  ~turbojpeg_handle() {
    tjFree(buffer);
    if (handle != nullptr) tjDestroy(handle);
  }
  turbojpeg_handle(const turbojpeg_handle&) = delete;
  turbojpeg_handle& operator=(const turbojpeg_handle&) = delete;
};

}  // namespace

std::string render_jpeg(const render_request& request) {
  if (!detail::valid_size(request.width, request.height)) return {};
  try {
    const std::vector<unsigned char> rgb = detail::shade_image(request);
    turbojpeg_handle jpeg(tjInitCompress());
    if (jpeg.handle == nullptr) return {};
    unsigned long size = 0;
    if (tjCompress2(jpeg.handle, rgb.data(), static_cast<int>(request.width),
                    static_cast<int>(request.width * 3), static_cast<int>(request.height), TJPF_RGB,
                    &jpeg.buffer, &size, TJSAMP_420, jpeg_quality, 0) != 0) {
      return {};
    }
    return std::string(reinterpret_cast<const char*>(jpeg.buffer), size);
  } catch (...) {
    return {};
  }
}

std::string render_small_jpeg(const render_request& request) {
  render_request small = request;
  small.width = small_image_side;
  small.height = small_image_side;
  return render_jpeg(small);
}

jpeg_info read_jpeg_info(std::string_view bytes) {
  if (bytes.size() < 4 || bytes.size() > 0xffffffffUL) return {};
  turbojpeg_handle jpeg(tjInitDecompress());
  if (jpeg.handle == nullptr) return {};
  int width = 0;
  int height = 0;
  int subsampling = -1;
  int colourspace = -1;
  auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  if (tjDecompressHeader3(jpeg.handle, data, static_cast<unsigned long>(bytes.size()), &width,
                          &height, &subsampling, &colourspace) != 0 ||
      width <= 0 || height <= 0) {
    return {};
  }
  jpeg_info info;
  info.ok = true;
  info.width = static_cast<std::uint32_t>(width);
  info.height = static_cast<std::uint32_t>(height);
  info.chroma_420 = subsampling == TJSAMP_420;
  return info;
}

}  // namespace kiln::media
