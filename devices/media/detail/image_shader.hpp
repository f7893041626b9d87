// Private helper of the still-image renderers (PNG, WebP, JPEG): shades the deterministic scene
// of media_pattern.hpp (gradient + soft circles) row by row into 8-bit RGB, so every image format
// shows the same picture for the same request. Header-only, like media_pattern.hpp.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "devices/media/detail/media_pattern.hpp"

namespace kiln::media::detail {

/// Scratch state for shading one row at a time.
struct row_shader {
  const scene* picture = nullptr;
  gradient_axis axis;
  float pixel = 1;
  std::uint32_t width = 0;
  std::vector<float> colour;         ///< width * 3 floats in [0, 255]
  std::vector<unsigned char> bytes;  ///< width * 3 bytes: the shaded row as RGB
};

inline row_shader make_row_shader(const scene& picture, std::uint32_t width, std::uint32_t height) {
  row_shader shader;
  shader.picture = &picture;
  shader.axis = make_gradient_axis(picture);
  shader.pixel = 1.0f / static_cast<float>(width > height ? width : height);
  shader.width = width;
  shader.colour.resize(static_cast<std::size_t>(width) * 3);
  shader.bytes.resize(static_cast<std::size_t>(width) * 3);
  return shader;
}

inline void shade_image_gradient(row_shader& shader, float y) {
  const scene& s = *shader.picture;
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

inline void shade_image_blob(row_shader& shader, const blob& b, std::uint32_t py) {
  const float r2 = b.radius * b.radius;
  const float inv_r2 = 1.0f / r2;
  const float pixel = shader.pixel;
  float* colour = shader.colour.data();
  for_blob_span(b.x, b.y, r2, py, shader.width, pixel,
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

/// Shades row `py` into shader.bytes (width * 3 RGB bytes).
inline void shade_image_row(row_shader& shader, std::uint32_t py) {
  shade_image_gradient(shader, (static_cast<float>(py) + 0.5f) * shader.pixel);
  for (std::uint32_t i = 0; i < shader.picture->blob_count; ++i) {
    shade_image_blob(shader, shader.picture->blobs[i], py);
  }
  const std::size_t count = shader.colour.size();
  for (std::size_t i = 0; i < count; ++i) {
    const float v = shader.colour[i];
    shader.bytes[i] = static_cast<unsigned char>(v <= 0 ? 0 : v >= 255 ? 255 : v + 0.5f);
  }
}

/// The whole picture of `request` as width * height * 3 RGB bytes, rows top to bottom. The
/// caller checks valid_size first.
inline std::vector<unsigned char> shade_image(const render_request& request) {
  const scene picture = make_scene(request);
  row_shader shader = make_row_shader(picture, request.width, request.height);
  const std::size_t row_bytes = shader.bytes.size();
  std::vector<unsigned char> rgb(row_bytes * request.height);
  for (std::uint32_t py = 0; py < request.height; ++py) {
    shade_image_row(shader, py);
    std::copy(shader.bytes.begin(), shader.bytes.end(), rgb.begin() + py * row_bytes);
  }
  return rgb;
}

}  // namespace kiln::media::detail
