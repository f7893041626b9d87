// Private helper of the video renderers (animated GIF and VP9 WebM): the frames of the
// deterministic animation, shaded row by row into indices of a cyclic 256-colour palette. The
// circles of the scene move along closed paths and the palette offset swings, so the last frame
// leads back into the first. The GIF stores the indices as they are; the WebM looks them up in the
// palette, so both formats show the same animation. Header-only, like media_pattern.hpp.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "devices/media/detail/media_pattern.hpp"

namespace kiln::media::detail {

/// The most frames a video may have (the GIF's and the WebM's bound alike).
inline constexpr std::uint64_t video_frames_max = 10000;

inline constexpr float gradient_levels = 110.0f;  ///< palette entries the gradient spans
inline constexpr float blob_levels = 140.0f;      ///< palette entries a full-strength circle adds
inline constexpr float cycle_levels = 40.0f;      ///< how far the palette swings over the loop

/// One palette entry, 8 bits per channel.
struct rgb8 {
  std::uint8_t r = 0;
  std::uint8_t g = 0;
  std::uint8_t b = 0;
};

using video_palette = std::array<rgb8, 256>;

/// Scratch state for shading one frame row by row into palette indices.
struct frame_shader {
  const scene* picture = nullptr;
  gradient_axis axis;
  float pixel = 1;
  std::uint32_t width = 0;
  std::array<float, max_blobs> blob_x{};
  std::array<float, max_blobs> blob_y{};
  int shift = 0;
  std::vector<float> field;
  std::vector<std::uint8_t> indices;  ///< width palette indices: the shaded row
};

inline frame_shader make_frame_shader(const scene& picture, std::uint32_t width,
                                      std::uint32_t height) {
  frame_shader shader;
  shader.picture = &picture;
  shader.axis = make_gradient_axis(picture);
  shader.pixel = 1.0f / static_cast<float>(width > height ? width : height);
  shader.width = width;
  shader.field.resize(width);
  shader.indices.resize(width);
  return shader;
}

/// Moves the circles and the palette offset to frame `frame` of `frames` (frame 0 is the scene at
/// rest, whatever the frame count).
inline void place_frame(frame_shader& shader, std::uint32_t frame, std::uint32_t frames) {
  const float turns = static_cast<float>(frame) / static_cast<float>(frames);
  for (std::uint32_t i = 0; i < shader.picture->blob_count; ++i) {
    blob_centre(shader.picture->blobs[i], turns, shader.blob_x[i], shader.blob_y[i]);
  }
  shader.shift = static_cast<int>(std::lround(cycle_levels * wave(turns)));
}

inline void shade_frame_blob(frame_shader& shader, std::uint32_t i, std::uint32_t py) {
  const blob& b = shader.picture->blobs[i];
  const float cx = shader.blob_x[i];
  const float r2 = b.radius * b.radius;
  const float inv_r2 = 1.0f / r2;
  const float level = b.strength * blob_levels;
  const float pixel = shader.pixel;
  float* field = shader.field.data();
  for_blob_span(cx, shader.blob_y[i], r2, py, shader.width, pixel,
                [&](std::uint32_t begin, std::uint32_t end, float dy2) {
                  for (std::uint32_t px = begin; px < end; ++px) {
                    const float dx = (static_cast<float>(px) + 0.5f) * pixel - cx;
                    const float q = 1.0f - (dx * dx + dy2) * inv_r2;
                    if (q > 0) field[px] += q * q * level;
                  }
                });
}

/// Shades row `py` of the placed frame into shader.indices.
inline void shade_frame_row(frame_shader& shader, std::uint32_t py) {
  const scene& s = *shader.picture;
  const float y = (static_cast<float>(py) + 0.5f) * shader.pixel;
  const float base = (y * s.dir_y - shader.axis.origin) * shader.axis.scale * gradient_levels;
  const float step = s.dir_x * shader.pixel * shader.axis.scale * gradient_levels;
  for (std::uint32_t px = 0; px < shader.width; ++px) {
    shader.field[px] = base + (static_cast<float>(px) + 0.5f) * step;
  }
  for (std::uint32_t i = 0; i < s.blob_count; ++i) shade_frame_blob(shader, i, py);
  for (std::uint32_t px = 0; px < shader.width; ++px) {
    const int level = static_cast<int>(shader.field[px]) + shader.shift;
    shader.indices[px] = static_cast<std::uint8_t>(static_cast<unsigned>(level) & 255U);
  }
}

/// A cyclic 256-colour ramp through the scene's colours, so palette shifts stay smooth.
inline video_palette make_video_palette(const scene& s) {
  const std::array<rgb, 4> stops{s.from, s.blobs[0].colour, s.to, s.blobs[1].colour};
  video_palette palette{};
  for (std::size_t i = 0; i < palette.size(); ++i) {
    const float pos = static_cast<float>(i) * (4.0f / 256.0f);
    const auto k = static_cast<std::size_t>(pos);
    const float f = pos - static_cast<float>(k);
    const float w = f * f * (3 - 2 * f);
    const rgb& a = stops[k];
    const rgb& b = stops[(k + 1) % 4];
    palette[i].r = static_cast<std::uint8_t>(a.r + (b.r - a.r) * w + 0.5f);
    palette[i].g = static_cast<std::uint8_t>(a.g + (b.g - a.g) * w + 0.5f);
    palette[i].b = static_cast<std::uint8_t>(a.b + (b.b - a.b) * w + 0.5f);
  }
  return palette;
}

}  // namespace kiln::media::detail
