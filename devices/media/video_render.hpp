// Video rendering for the `builtin` and `sim` executors: a real VP9 video in a WebM file (libvpx
// encodes, a small hand-written muxer wraps) showing the same animation as render_gif, and a PNG
// of its first frame as the thumbnail. Pure functions: no actors, no I/O; same inputs give the
// same bytes (one encoder thread, no lag, a fixed speed setting).
#pragma once

#include <cstdint>
#include <string>

#include "devices/media/media_render.hpp"

namespace kiln::media {

/// Size and length of the sim executor's small WebM (render_small_webm).
inline constexpr std::uint32_t small_webm_width = 32;
inline constexpr std::uint32_t small_webm_height = 32;
inline constexpr std::uint32_t small_webm_seconds = 1;
inline constexpr std::uint32_t small_webm_fps = 2;

/// A WebM of width x height holding one VP9 track (profile 0, 8-bit 4:2:0) of
/// duration_seconds * fps frames: the animation render_gif draws for the same arguments. The
/// encoder runs in realtime mode at speed 8 aiming at 300 kbit/s, one thread, no frame lag, a
/// keyframe at least every 2 seconds (each keyframe starts a cluster). The file says its
/// duration: exactly duration_seconds. VP9's 4:2:0 chroma needs even sides, so an odd width or
/// height, a size over 4096, zero seconds, zero fps or more than 10000 frames give an empty
/// string; so does an encoder failure.
std::string render_webm(const render_request& request, std::uint32_t duration_seconds,
                        std::uint32_t fps);

/// A PNG, width x height, of the video's first frame: what render_webm (and render_gif) show
/// first for the same request, whatever the duration and frame rate. Any size render_png accepts.
std::string render_video_thumbnail(const render_request& request);

/// A 32 x 32 WebM of 1 second at 2 fps (two frames) for the sim executor, whatever size was
/// requested. About 1 ms of CPU, most of it libvpx setting up its encoder (render_small_png: 0.03).
std::string render_small_webm(const render_request& request);

}  // namespace kiln::media
