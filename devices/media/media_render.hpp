// Media rendering for the `builtin` and `sim` executors: real PNG images and animated GIF videos,
// deterministic functions of prompt, seed and output index. Pure functions: no actors, no I/O.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace kiln::media {

struct render_request {
  std::string_view prompt;
  std::uint64_t seed = 0;
  std::uint32_t width = 512;
  std::uint32_t height = 512;
  std::uint32_t output_index = 0;  ///< which of the job's n outputs; changes the picture
};

/// A PNG (8-bit RGB) of exactly width x height: a picture derived from prompt, seed and index.
/// Same inputs give the same bytes.
std::string render_png(const render_request& request);

/// An animated GIF of width x height with duration_seconds * fps frames, looping.
std::string render_gif(const render_request& request, std::uint32_t duration_seconds,
                       std::uint32_t fps);

/// A small real PNG (32 x 32) for the sim executor; cheap enough for thousands per second.
std::string render_small_png(const render_request& request);

/// What a PNG's header says; ok=false if the bytes are not a PNG.
struct png_info {
  bool ok = false;
  std::uint32_t width = 0;
  std::uint32_t height = 0;
};
png_info read_png_info(std::string_view bytes);

/// What a GIF says: frame count and logical screen size; ok=false if not a decodable GIF.
struct gif_info {
  bool ok = false;
  std::uint32_t width = 0;
  std::uint32_t height = 0;
  std::uint32_t frames = 0;
};
gif_info read_gif_info(std::string_view bytes);

}  // namespace kiln::media
