// Private helpers shared by the PNG and GIF renderers: a deterministic "scene" (two gradient
// colours and a few soft circles) derived from a 64-bit FNV-1a hash of prompt + seed + index,
// expanded with splitmix64. Header-only so each renderer translation unit stands alone.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>
#include <string_view>

#include "devices/media/media_render.hpp"

namespace kiln::media::detail {

inline constexpr std::uint32_t max_dimension = 4096;
inline constexpr std::uint32_t max_blobs = 6;

struct rgb {
  float r = 0;
  float g = 0;
  float b = 0;
};

/// One soft circle: rest position, radius, motion amplitude/phase (for GIF frames) and colour.
struct blob {
  float x = 0;
  float y = 0;
  float radius = 0;
  float amp_x = 0;
  float amp_y = 0;
  float phase = 0;
  float strength = 0;
  rgb colour;
};

/// Everything a renderer needs; coordinates are in units of the longer image side.
struct scene {
  float extent_x = 1;  ///< image width / longer side
  float extent_y = 1;  ///< image height / longer side
  float dir_x = 1;     ///< unit gradient direction
  float dir_y = 0;
  rgb from;
  rgb to;
  std::array<blob, max_blobs> blobs{};
  std::uint32_t blob_count = 0;
};

inline bool valid_size(std::uint32_t width, std::uint32_t height) {
  return width >= 1 && height >= 1 && width <= max_dimension && height <= max_dimension;
}

/// FNV-1a 64 over bytes, continuing from `hash`.
inline std::uint64_t fnv1a64(const unsigned char* bytes, std::size_t size,
                             std::uint64_t hash = 0xcbf29ce484222325ULL) {
  for (std::size_t i = 0; i < size; ++i) {
    hash ^= bytes[i];
    hash *= 0x100000001b3ULL;
  }
  return hash;
}

/// Hash of prompt, then seed (8 bytes little-endian), then output_index (4 bytes little-endian).
inline std::uint64_t request_hash(const render_request& request) {
  const auto* prompt = reinterpret_cast<const unsigned char*>(request.prompt.data());
  std::uint64_t hash = fnv1a64(prompt, request.prompt.size());
  std::array<unsigned char, 12> tail{};
  for (int i = 0; i < 8; ++i) tail[i] = static_cast<unsigned char>(request.seed >> (8 * i));
  for (int i = 0; i < 4; ++i) {
    tail[8 + i] = static_cast<unsigned char>(request.output_index >> (8 * i));
  }
  return fnv1a64(tail.data(), tail.size(), hash);
}

/// splitmix64: tiny, well-known, platform-independent generator.
class splitmix64 {
public:
  explicit splitmix64(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, 1) with 24 bits of precision (exact in float).
  float unit() { return static_cast<float>(next() >> 40) * (1.0f / 16777216.0f); }
  float range(float low, float high) { return low + (high - low) * unit(); }

private:
  std::uint64_t state_;
};

/// HSV (all in [0, 1], hue wraps) to RGB in [0, 255].
inline rgb hsv_colour(float hue, float saturation, float value) {
  hue -= std::floor(hue);
  const float sector = hue * 6.0f;
  const int index = static_cast<int>(sector) % 6;
  const float f = sector - static_cast<float>(index);
  const float p = value * (1 - saturation);
  const float q = value * (1 - saturation * f);
  const float t = value * (1 - saturation * (1 - f));
  const std::array<rgb, 6> table{
    {{value, t, p}, {q, value, p}, {p, value, t}, {p, q, value}, {t, p, value}, {value, p, q}}};
  const rgb c = table[static_cast<std::size_t>(index)];
  return {c.r * 255.0f, c.g * 255.0f, c.b * 255.0f};
}

/// sin(2*pi*turns) by a polynomial, so the picture does not depend on the libm in use.
inline float wave(float turns) {
  float x = turns - std::floor(turns);         // [0, 1)
  const float sign = x < 0.5f ? 1.0f : -1.0f;  // sin is odd around half a turn
  x = x < 0.5f ? x : x - 0.5f;                 // [0, 0.5): one positive hump
  const float u = x * (0.5f - x);              // Bhaskara I approximation
  return sign * (16.0f * u) / (1.25f - 4.0f * u);
}

inline blob make_blob(splitmix64& rng, const scene& s, float base_hue) {
  blob b;
  b.x = s.extent_x * rng.range(0.1f, 0.9f);
  b.y = s.extent_y * rng.range(0.1f, 0.9f);
  b.radius = rng.range(0.12f, 0.38f);
  b.amp_x = rng.range(0.04f, 0.14f);
  b.amp_y = rng.range(0.04f, 0.14f);
  b.phase = rng.unit();
  b.strength = rng.range(0.35f, 0.8f);
  b.colour =
    hsv_colour(base_hue + rng.range(-0.2f, 0.45f), rng.range(0.25f, 0.7f), rng.range(0.8f, 1.0f));
  return b;
}

inline scene make_scene(const render_request& request) {
  splitmix64 rng(request_hash(request));
  scene s;
  const float longer =
    static_cast<float>(request.width > request.height ? request.width : request.height);
  s.extent_x = static_cast<float>(request.width) / longer;
  s.extent_y = static_cast<float>(request.height) / longer;
  float dx = rng.range(-1.0f, 1.0f);
  float dy = rng.range(0.2f, 1.0f);  // mostly top-to-bottom, like a sky
  const float norm = std::sqrt(dx * dx + dy * dy);
  s.dir_x = dx / norm;
  s.dir_y = dy / norm;
  const float hue = rng.unit();
  s.from = hsv_colour(hue, rng.range(0.45f, 0.8f), rng.range(0.35f, 0.6f));
  s.to = hsv_colour(hue + rng.range(0.15f, 0.5f), rng.range(0.35f, 0.7f), rng.range(0.75f, 0.95f));
  s.blob_count = 3 + static_cast<std::uint32_t>(rng.next() % (max_blobs - 2));
  for (std::uint32_t i = 0; i < s.blob_count; ++i) s.blobs[i] = make_blob(rng, s, hue);
  return s;
}

/// The blob's centre at animation position `turns` (0 = rest frame; 1 = back where it started).
inline void blob_centre(const blob& b, float turns, float& x, float& y) {
  x = b.x + b.amp_x * (wave(turns + b.phase + 0.25f) - wave(b.phase + 0.25f));
  y = b.y + b.amp_y * (wave(turns + b.phase) - wave(b.phase));
}

/// Gradient position in [0, 1] at (x, y): projection on the direction across the whole image.
struct gradient_axis {
  float origin = 0;  ///< projection of the image corner with the smallest projection
  float scale = 1;   ///< 1 / projected extent
};

inline gradient_axis make_gradient_axis(const scene& s) {
  const float span = std::fabs(s.dir_x) * s.extent_x + std::fabs(s.dir_y) * s.extent_y;
  gradient_axis axis;
  axis.origin =
    (s.dir_x < 0 ? s.dir_x * s.extent_x : 0.0f) + (s.dir_y < 0 ? s.dir_y * s.extent_y : 0.0f);
  axis.scale = 1.0f / span;
  return axis;
}

/// Calls fn(x_begin, x_end, dy2) for the pixel columns [x_begin, x_end) of row `py` that a
/// circle of squared radius r2 centred at (cx, cy) may cover; dy2 is the row's squared vertical
/// distance to the centre. `pixel` is the size of one pixel (1 / longer side).
template <typename Fn>
inline void for_blob_span(float cx, float cy, float r2, std::uint32_t py, std::uint32_t width,
                          float pixel, Fn&& fn) {
  const float y = (static_cast<float>(py) + 0.5f) * pixel;
  const float dy2 = (y - cy) * (y - cy);
  if (dy2 >= r2) return;
  const float half = std::sqrt(r2 - dy2) / pixel;
  const float centre = cx / pixel - 0.5f;
  const float lo = std::floor(centre - half);
  const float hi = std::ceil(centre + half) + 1.0f;
  const auto begin = static_cast<std::uint32_t>(lo < 0 ? 0.0f : lo);
  const auto end =
    hi > static_cast<float>(width) ? width : static_cast<std::uint32_t>(hi < 0 ? 0 : hi);
  if (begin < end) fn(begin, end, dy2);
}

}  // namespace kiln::media::detail
