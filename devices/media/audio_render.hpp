// Audio rendering for the `builtin` and `sim` executors: a real WAV file (16-bit PCM, mono,
// 24 kHz) with a short melody whose scale, key, tempo and notes come from prompt, seed and output
// index. Integer arithmetic only, so the bytes do not depend on the libm or the CPU. Pure
// functions: no actors, no I/O.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "devices/media/media_render.hpp"

namespace kiln::media {

/// The WAV's sample rate: samples per second (and 24 per millisecond).
inline constexpr std::uint32_t wav_sample_rate = 24000;
/// Longest WAV render_wav makes, in milliseconds (10 minutes: 28.8 MB of samples).
inline constexpr std::uint32_t wav_duration_ms_max = 600'000;
/// Length of the sim executor's small WAV (render_small_wav), in milliseconds.
inline constexpr std::uint32_t small_wav_duration_ms = 250;

/// A WAV (RIFF, PCM 16-bit little-endian, mono, 24 kHz) of exactly duration_ms milliseconds:
/// 24 * duration_ms samples after a 44-byte header. Not silence (except for 0 ms, a valid empty
/// WAV); same inputs give the same bytes. Empty string over wav_duration_ms_max. Ignores the
/// request's width and height.
std::string render_wav(const render_request& request, std::uint32_t duration_ms);

/// A 0.25 s WAV for the sim executor (12 KB).
std::string render_small_wav(const render_request& request);

/// What a WAV's RIFF header says; ok=false if it is not a WAV whose fmt chunk describes PCM and
/// whose data chunk is all there.
struct wav_info {
  bool ok = false;
  std::uint32_t sample_rate = 0;  ///< samples per second per channel
  std::uint32_t channels = 0;
  std::uint32_t bits_per_sample = 0;
  std::uint32_t data_bytes = 0;   ///< size of the data chunk
  std::uint64_t duration_ms = 0;  ///< data_bytes / bytes per second, in ms (rounded down)
  std::int32_t peak = 0;          ///< largest |sample| of 16-bit data (0 for other widths)
};
wav_info read_wav_info(std::string_view bytes);

}  // namespace kiln::media
