// WebP side of media rendering: the picture of render_png encoded as a lossy WebP with libwebp's
// simple API, and a reader of a WebP's size and kind. libwebp encodes on the calling thread only
// (its default config has no threads), so the bytes are a function of the inputs.
#include <webp/decode.h>
#include <webp/encode.h>

#include <vector>

#include "devices/media/detail/image_shader.hpp"
#include "devices/media/media_render.hpp"

namespace kiln::media {
namespace {

constexpr float webp_quality = 80.0f;

}  // namespace

std::string render_webp(const render_request& request) {
  if (!detail::valid_size(request.width, request.height)) return {};
  try {
    const std::vector<unsigned char> rgb = detail::shade_image(request);
    std::uint8_t* encoded = nullptr;
    const std::size_t size =
      WebPEncodeRGB(rgb.data(), static_cast<int>(request.width), static_cast<int>(request.height),
                    static_cast<int>(request.width * 3), webp_quality, &encoded);
    std::string out;
    try {
      out.assign(reinterpret_cast<const char*>(encoded), size);  // size 0 on failure
    } catch (...) {
      WebPFree(encoded);
      return {};
    }
    WebPFree(encoded);
    return out;
  } catch (...) {
    return {};
  }
}

std::string render_small_webp(const render_request& request) {
  render_request small = request;
  small.width = small_image_side;
  small.height = small_image_side;
  return render_webp(small);
}

webp_info read_webp_info(std::string_view bytes) {
  const auto* data = reinterpret_cast<const std::uint8_t*>(bytes.data());
  WebPBitstreamFeatures features;
  if (WebPGetFeatures(data, bytes.size(), &features) != VP8_STATUS_OK) return {};
  int width = 0;
  int height = 0;
  if (WebPGetInfo(data, bytes.size(), &width, &height) == 0 || width <= 0 || height <= 0) {
    return {};
  }
  webp_info info;
  info.ok = true;
  info.width = static_cast<std::uint32_t>(width);
  info.height = static_cast<std::uint32_t>(height);
  info.lossy = features.format == 1;  // 1 lossy, 2 lossless, 0 mixed (animations)
  return info;
}

}  // namespace kiln::media
