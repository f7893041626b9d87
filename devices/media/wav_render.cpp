// WAV side of media rendering: a melody of triangle-wave notes (an octave overtone and a little
// noise on top, each note with a short attack and a decay) written as 16-bit PCM in a RIFF/WAVE
// file, and a reader of a WAV's header. The key, scale, tempo, timbre and the notes' walk come
// from splitmix64 over the request's hash; everything is integer arithmetic.
#include <array>
#include <cstring>

#include "devices/media/audio_render.hpp"
#include "devices/media/detail/media_pattern.hpp"

namespace kiln::media {
namespace {

constexpr std::uint32_t samples_per_ms = wav_sample_rate / 1000;
constexpr std::uint32_t header_bytes = 44;
constexpr std::uint32_t attack_samples = 5 * samples_per_ms;  // fade each note in over 5 ms
constexpr std::uint64_t audio_salt = 0x61756469'6f2d7761ULL;  // "audio-wa": not the picture's draws

/// Equal-tempered C3 to B3 in hundredths of a hertz; higher octaves double.
constexpr std::array<std::uint32_t, 12> octave3_centihertz{
  13081, 13859, 14683, 15556, 16481, 17461, 18500, 19600, 20765, 22000, 23308, 24694};

struct scale {
  std::array<std::uint8_t, 7> steps;  ///< semitones above the key note
  std::uint32_t size;
};
constexpr std::array<scale, 5> scales{{
  {{0, 2, 4, 5, 7, 9, 11}, 7},  // major
  {{0, 2, 3, 5, 7, 8, 10}, 7},  // natural minor
  {{0, 2, 3, 5, 7, 9, 10}, 7},  // dorian
  {{0, 2, 4, 7, 9, 0, 0}, 5},   // major pentatonic
  {{0, 3, 5, 7, 10, 0, 0}, 5},  // minor pentatonic
}};

/// The melody's state: which note plays, how far through it, and the oscillators.
struct melody {
  detail::splitmix64 rng;
  const scale* mode = nullptr;
  std::uint32_t key = 0;  ///< semitones above C3
  std::uint32_t note_samples = 0;
  std::uint32_t overtone = 0;  ///< octave overtone level, in 1/16 of the fundamental's
  std::uint32_t degree = 0;    ///< scale degree of the current note, 0 .. 2 * size
  std::uint32_t step = 0;      ///< phase increment per sample (2^32 = one cycle)
  std::uint32_t phase = 0;
  std::uint32_t noise = 0;
  explicit melody(std::uint64_t seed) : rng(seed) {}
};

std::uint32_t phase_step(std::uint32_t semitones) {  // semitones above C3
  const std::uint64_t centihertz = std::uint64_t{octave3_centihertz[semitones % 12]}
                                   << (semitones / 12);
  return static_cast<std::uint32_t>((centihertz << 32) / (wav_sample_rate * 100ULL));
}

melody make_melody(const render_request& request) {
  melody m(detail::request_hash(request) ^ audio_salt);
  m.mode = &scales[m.rng.next() % scales.size()];
  m.key = static_cast<std::uint32_t>(m.rng.next() % 12);
  m.note_samples = static_cast<std::uint32_t>(150 + m.rng.next() % 301) * samples_per_ms;
  m.overtone = static_cast<std::uint32_t>(2 + m.rng.next() % 7);
  m.degree = static_cast<std::uint32_t>(m.rng.next() % (m.mode->size + 1));
  m.noise = static_cast<std::uint32_t>(m.rng.next());
  return m;
}

/// Moves to the next note: a step of -2 .. +2 scale degrees within two octaves.
void next_note(melody& m) {
  const std::uint32_t top = 2 * m.mode->size;
  const auto move = static_cast<int>(m.rng.next() % 5) - 2;
  const int degree = static_cast<int>(m.degree) + move;
  m.degree = degree < 0 ? static_cast<std::uint32_t>(-degree)
             : static_cast<std::uint32_t>(degree) > top
               ? 2 * top - static_cast<std::uint32_t>(degree)
               : static_cast<std::uint32_t>(degree);
  const std::uint32_t octave = m.degree / m.mode->size;
  m.step = phase_step(m.key + 12 * octave + m.mode->steps[m.degree % m.mode->size]);
}

/// A triangle wave in -32768 .. 32767 at `phase`.
std::int32_t triangle(std::uint32_t phase) {
  const std::int32_t ramp = static_cast<std::int32_t>(phase >> 16) - 32768;  // -32768 .. 32767
  return (ramp < 0 ? -ramp : ramp) * 2 - 32768;
}

/// Sample `at` (0 = start of the note) of the current note.
std::int16_t next_sample(melody& m, std::uint32_t at) {
  m.phase += m.step;
  m.noise = m.noise * 1664525U + 1013904223U;
  const std::int32_t tone =
    triangle(m.phase) * 10 + triangle(m.phase * 2) * static_cast<std::int32_t>(m.overtone);
  const std::int32_t hiss = (static_cast<std::int32_t>(m.noise >> 16) - 32768) / 2;
  const std::int32_t mix = (tone + hiss) / 20;  // at most 0.5 + 0.4 + 0.025 of full scale
  const auto remaining = static_cast<std::int32_t>(m.note_samples - at);
  const std::int32_t decay = 300 + 700 * remaining / static_cast<std::int32_t>(m.note_samples);
  const std::int32_t attack = at < attack_samples ? static_cast<std::int32_t>(at) : 0;
  const std::int32_t level = at < attack_samples ? decay * attack / attack_samples : decay;
  return static_cast<std::int16_t>(mix * level / 1000);
}

void put_le(std::string& out, std::uint32_t value, int bytes) {
  for (int i = 0; i < bytes; ++i) out.push_back(static_cast<char>(value >> (8 * i)));
}

std::uint32_t read_le(const unsigned char* p, int bytes) {
  std::uint32_t value = 0;
  for (int i = bytes - 1; i >= 0; --i) value = (value << 8) | p[i];
  return value;
}

}  // namespace

std::string render_wav(const render_request& request, std::uint32_t duration_ms) {
  if (duration_ms > wav_duration_ms_max) return {};
  const std::uint32_t samples = duration_ms * samples_per_ms;
  const std::uint32_t data_bytes = samples * 2;
  try {
    std::string out;
    out.reserve(header_bytes + data_bytes);
    out += "RIFF";
    put_le(out, header_bytes - 8 + data_bytes, 4);
    out += "WAVEfmt ";
    put_le(out, 16, 4);  // fmt chunk size
    put_le(out, 1, 2);   // PCM
    put_le(out, 1, 2);   // mono
    put_le(out, wav_sample_rate, 4);
    put_le(out, wav_sample_rate * 2, 4);  // bytes per second
    put_le(out, 2, 2);                    // bytes per sample frame
    put_le(out, 16, 2);                   // bits per sample
    out += "data";
    put_le(out, data_bytes, 4);
    melody m = make_melody(request);
    next_note(m);
    for (std::uint32_t i = 0, at = 0; i < samples; ++i, ++at) {
      if (at == m.note_samples) {
        next_note(m);
        at = 0;
      }
      put_le(out, static_cast<std::uint16_t>(next_sample(m, at)), 2);
    }
    return out;
  } catch (...) {
    return {};
  }
}

std::string render_small_wav(const render_request& request) {
  return render_wav(request, small_wav_duration_ms);
}

wav_info read_wav_info(std::string_view bytes) {
  const auto* p = reinterpret_cast<const unsigned char*>(bytes.data());
  if (bytes.size() < 12 || std::memcmp(p, "RIFF", 4) != 0 || std::memcmp(p + 8, "WAVE", 4) != 0 ||
      std::uint64_t{read_le(p + 4, 4)} + 8 != bytes.size()) {
    return {};
  }
  wav_info info;
  std::uint32_t block_align = 0;
  for (std::size_t at = 12; at + 8 <= bytes.size();) {
    const unsigned char* chunk = p + at;
    const std::uint64_t size = read_le(chunk + 4, 4);
    if (at + 8 + size > bytes.size()) return {};
    if (std::memcmp(chunk, "fmt ", 4) == 0 && size >= 16) {
      if (read_le(chunk + 8, 2) != 1) return {};  // PCM only
      info.channels = read_le(chunk + 10, 2);
      info.sample_rate = read_le(chunk + 12, 4);
      block_align = read_le(chunk + 20, 2);
      info.bits_per_sample = read_le(chunk + 22, 2);
    } else if (std::memcmp(chunk, "data", 4) == 0) {
      const std::uint64_t byte_rate = std::uint64_t{info.sample_rate} * block_align;
      if (byte_rate == 0 || block_align != info.channels * ((info.bits_per_sample + 7) / 8) ||
          size % block_align != 0) {
        return {};  // no fmt chunk before the data, or one that does not add up
      }
      info.data_bytes = static_cast<std::uint32_t>(size);
      info.duration_ms = size * 1000 / byte_rate;
      for (std::uint64_t i = 0; info.bits_per_sample == 16 && i + 1 < size; i += 2) {
        const auto sample = static_cast<std::int16_t>(read_le(chunk + 8 + i, 2));
        const std::int32_t magnitude = sample < 0 ? -std::int32_t{sample} : sample;
        if (magnitude > info.peak) info.peak = magnitude;
      }
      info.ok = true;
      return info;
    }
    at += 8 + size + (size & 1);  // chunks are padded to an even size
  }
  return {};
}

}  // namespace kiln::media
