// Media rendering for the `builtin` and `sim` executors: real images (PNG, WebP, JPEG) and the
// animated GIF video, deterministic functions of prompt, seed and output index. Pure functions: no
// actors, no I/O. The other formats build on render_request: VP9 WebM video in video_render.hpp,
// WAV audio in audio_render.hpp, binary glTF models in model3d_render.hpp.
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

/// An animated GIF of width x height with duration_seconds * fps frames, looping: the animation
/// render_webm (video_render.hpp) encodes as VP9.
std::string render_gif(const render_request& request, std::uint32_t duration_seconds,
                       std::uint32_t fps);

/// A lossy WebP (quality 80, libwebp) of exactly width x height showing the same picture as
/// render_png. Same inputs give the same bytes; empty if the size is zero or over 4096.
std::string render_webp(const render_request& request);

/// A baseline JPEG (quality 85, 4:2:0 chroma, TurboJPEG) of exactly width x height showing the
/// same picture as render_png. Same inputs give the same bytes; empty if the size is zero or
/// over 4096.
std::string render_jpeg(const render_request& request);

/// Side of the sim executor's small images, whatever size was requested.
inline constexpr std::uint32_t small_image_side = 32;

/// A small real PNG (32 x 32) for the sim executor; cheap enough for thousands per second.
std::string render_small_png(const render_request& request);
/// The WebP of a 32 x 32 picture, for the sim executor.
std::string render_small_webp(const render_request& request);
/// The JPEG of a 32 x 32 picture, for the sim executor.
std::string render_small_jpeg(const render_request& request);

/// What a PNG's header says; ok=false if the bytes are not a PNG.
struct png_info {
  bool ok = false;
  std::uint32_t width = 0;
  std::uint32_t height = 0;
};
png_info read_png_info(std::string_view bytes);

/// What a WebP's headers say (libwebp's WebPGetInfo and WebPGetFeatures); ok=false if the bytes
/// are not a WebP libwebp can decode.
struct webp_info {
  bool ok = false;
  std::uint32_t width = 0;
  std::uint32_t height = 0;
  bool lossy = false;  ///< VP8 (lossy) rather than VP8L (lossless) data
};
webp_info read_webp_info(std::string_view bytes);

/// What a JPEG's header says (TurboJPEG's tjDecompressHeader3); ok=false if not a JPEG.
struct jpeg_info {
  bool ok = false;
  std::uint32_t width = 0;
  std::uint32_t height = 0;
  bool chroma_420 = false;  ///< chroma subsampled 2 x 2 (4:2:0)
};
jpeg_info read_jpeg_info(std::string_view bytes);

/// What a GIF says: frame count and logical screen size; ok=false if not a decodable GIF.
struct gif_info {
  bool ok = false;
  std::uint32_t width = 0;
  std::uint32_t height = 0;
  std::uint32_t frames = 0;
};
gif_info read_gif_info(std::string_view bytes);

}  // namespace kiln::media
