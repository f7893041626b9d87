// Unit tests for the WAV render, checked by the real decoder: ffprobe reads PCM 16-bit mono at
// 24 kHz of exactly the requested length, ffmpeg decodes it, and it is not silence; the bytes are
// deterministic and vary with the request; read_wav_info rejects what is not a whole WAV.
#include <catch2/catch.hpp>
#include <string>

#include "devices/media/audio_render.hpp"
#include "tests/support/media_probe.hpp"

using kiln::media::read_wav_info;
using kiln::media::render_request;
using kiln::media::render_small_wav;
using kiln::media::render_wav;
using kiln::test::ffmpeg_decode;
using kiln::test::ffprobe;
using kiln::test::media_file;

namespace {

render_request make_request() {
  render_request request;
  request.prompt = "rain on a tin roof";
  request.seed = 1234;
  return request;
}

}  // namespace

TEST_CASE("render_wav is 16-bit PCM mono at 24 kHz of exactly the requested length", "[media]") {
  for (const std::uint32_t ms : {5000U, 1234U, 1U}) {
    INFO(ms << " ms");
    const std::string wav = render_wav(make_request(), ms);
    CHECK(wav.size() == 44 + 48 * ms);
    const auto info = read_wav_info(wav);
    CHECK(info.ok);
    CHECK(info.sample_rate == 24000);
    CHECK(info.channels == 1);
    CHECK(info.bits_per_sample == 16);
    CHECK(info.data_bytes == 48 * ms);
    CHECK(info.duration_ms == ms);

    const media_file file(wav, ".wav");
    const auto probe = ffprobe(file);
    const auto stream = probe["streams"][0];
    CHECK(stream["codec_name"].str() == "pcm_s16le");
    CHECK(stream["sample_rate"].str() == "24000");
    CHECK(stream["channels"].integer() == 1);
    CHECK(probe["format"]["format_name"].str() == "wav");
    CHECK(std::stod(probe["format"]["duration"].str()) == Approx(ms / 1000.0).margin(1e-6));
    const auto decode = ffmpeg_decode(file);
    CHECK(decode.status == 0);
    CHECK(decode.output.empty());
  }
}

TEST_CASE("render_wav is not silence", "[media]") {
  for (std::uint64_t seed = 0; seed < 8; ++seed) {
    auto request = make_request();
    request.seed = seed;
    const auto info = read_wav_info(render_wav(request, 2000));
    INFO("seed " << seed);
    CHECK(info.ok);
    CHECK(info.peak > 8000);  // of 32767
  }
  CHECK(read_wav_info(render_small_wav(make_request())).peak > 4000);
}

TEST_CASE("render_wav gives identical bytes for identical inputs and varies with the request",
          "[media]") {
  const auto request = make_request();
  const std::string base = render_wav(request, 3000);
  CHECK(base == render_wav(request, 3000));
  auto other_prompt = request;
  other_prompt.prompt = "rain on a tin roof, at night";
  auto other_seed = request;
  other_seed.seed = 1235;
  auto other_index = request;
  other_index.output_index = 1;
  CHECK(render_wav(other_prompt, 3000) != base);
  CHECK(render_wav(other_seed, 3000) != base);
  CHECK(render_wav(other_index, 3000) != base);
  auto other_size = request;
  other_size.width = 64;
  CHECK(render_wav(other_size, 3000) == base);  // audio has no picture size
}

TEST_CASE("render_wav makes an empty WAV for 0 ms and nothing past the longest", "[media]") {
  const auto empty = read_wav_info(render_wav(make_request(), 0));
  CHECK(empty.ok);
  CHECK(empty.data_bytes == 0);
  CHECK(empty.duration_ms == 0);
  CHECK_FALSE(render_wav(make_request(), kiln::media::wav_duration_ms_max).empty());
  CHECK(render_wav(make_request(), kiln::media::wav_duration_ms_max + 1).empty());
}

TEST_CASE("render_small_wav is a quarter of a second", "[media]") {
  const std::string wav = render_small_wav(make_request());
  const auto info = read_wav_info(wav);
  CHECK(info.ok);
  CHECK(info.duration_ms == 250);
  CHECK(wav.size() == 44 + 48 * 250);
  CHECK(wav == render_small_wav(make_request()));
  const media_file file(wav, ".wav");
  CHECK(ffmpeg_decode(file).status == 0);
}

TEST_CASE("read_wav_info rejects garbage, empty, truncated and non-PCM input", "[media]") {
  const std::string wav = render_wav(make_request(), 100);
  REQUIRE(read_wav_info(wav).ok);
  CHECK_FALSE(read_wav_info("").ok);
  CHECK_FALSE(read_wav_info("RIFF").ok);
  CHECK_FALSE(read_wav_info("garbage garbage garbage garbage garbage garbage").ok);
  CHECK_FALSE(read_wav_info(std::string(100, '\0')).ok);
  CHECK_FALSE(read_wav_info(std::string_view(wav).substr(0, 44)).ok);
  CHECK_FALSE(read_wav_info(std::string_view(wav).substr(0, wav.size() - 1)).ok);
  std::string short_data = wav;  // the data chunk claims more than the file holds
  short_data[40] = static_cast<char>(short_data[40] + 2);
  CHECK_FALSE(read_wav_info(short_data).ok);
  std::string float_format = wav;  // format 3: IEEE float, not PCM
  float_format[20] = 3;
  CHECK_FALSE(read_wav_info(float_format).ok);
}
