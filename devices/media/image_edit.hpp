// The builtin device's image edit: decodes a source image (PNG with libpng, JPEG with
// TurboJPEG), fits it to the asked size and tints it by the prompt and seed, so the output is
// derived from the source and still differs by request. Pure: bytes in, PNG bytes out.
#pragma once

#include "devices/media/media_render.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace kiln::media {

/// A decoded picture: width x height 8-bit RGB pixels, row by row.
struct rgb_image {
  std::uint32_t width = 0;
  std::uint32_t height = 0;
  std::string pixels;
};

/// Decodes a PNG or JPEG (by `content_type`) to RGB; width 0 when it cannot be decoded or is
/// over 4096 on a side.
rgb_image decode_image(std::string_view bytes, std::string_view content_type);

/// A PNG of request.width x request.height: `source` resized to it (nearest neighbour) and
/// tinted by a colour drawn from the prompt, seed and output index. Empty if `source` is empty.
std::string render_edit_png(const rgb_image& source, const render_request& request);

}  // namespace kiln::media
