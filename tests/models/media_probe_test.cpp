// The upload probes (models/media_probe.hpp) on real files made by Kiln's own encoders, on
// headers cut short or lying about their sizes, and on random bytes: they name the type, read
// the exact size or duration where the header holds it, and never read past the bytes given.
#include "models/media_probe.hpp"
#include "devices/media/audio_render.hpp"
#include "devices/media/media_render.hpp"

#include <catch2/catch.hpp>

#include <cstring>
#include <random>
#include <string>

using namespace kiln;

namespace {

/// The bytes copied into a buffer of exactly their size, so a read past the end is a read past
/// the allocation (caught under the sanitizers).
media_probe probe_exact(const std::string& bytes, std::uint64_t total) {
  auto copy = std::make_unique<char[]>(bytes.size() + 1);
  std::memcpy(copy.get(), bytes.data(), bytes.size());
  return probe_media(std::string_view(copy.get(), bytes.size()), total);
}

std::string le32(std::uint32_t v) {
  std::string s(4, '\0');
  for (int i = 0; i < 4; ++i) s[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
  return s;
}

}  // namespace

TEST_CASE("images made by Kiln's encoders probe to their exact size", "[models][uploads]") {
  media::render_request picture{"a probe", 5, 123, 45, 0};
  struct sample {
    std::string bytes;
    std::string_view type;
  };
  auto gif = media::render_gif(picture, 1, 2);
  for (const auto& [bytes, type] :
       {sample{media::render_png(picture), "image/png"},
        sample{media::render_jpeg(picture), "image/jpeg"},
        sample{media::render_webp(picture), "image/webp"}, sample{gif, "image/gif"}}) {
    INFO(type);
    auto p = probe_exact(bytes, bytes.size());
    CHECK(p.content_type == type);
    CHECK(p.exact);
    CHECK(p.width == 123);
    CHECK(p.height == 45);
    CHECK(p.duration_us == 0);
  }
}

TEST_CASE("a WAV probes to its exact duration, cut to the bytes the file holds",
          "[models][uploads]") {
  auto wav = media::render_wav({"a tone", 1, 8, 8, 0}, 1250);
  auto p = probe_exact(wav, wav.size());
  CHECK(p.content_type == "audio/wav");
  CHECK(p.extension == "wav");
  CHECK(p.exact);
  CHECK(p.duration_us == 1'250'000);
  // A file cut in half says so by its size, whatever its data chunk claims.
  p = probe_exact(wav.substr(0, 44), 44 + (wav.size() - 44) / 2);
  CHECK(p.duration_us == 625'000);
  // A data chunk claiming 4 GiB in a short file.
  auto lying = wav.substr(0, 40) + le32(0xFFFFFFFF);
  p = probe_exact(lying, wav.size());
  CHECK(p.duration_us == 1'250'000);
  // A fmt chunk with a zero byte rate: the type, no duration.
  auto zero_rate = wav;
  std::memset(zero_rate.data() + 28, 0, 4);
  p = probe_exact(zero_rate, zero_rate.size());
  CHECK(p.content_type == "audio/wav");
  CHECK_FALSE(p.exact);
}

TEST_CASE("types without a size in their header are named and probed as none",
          "[models][uploads]") {
  CHECK(probe_media("ID3\x04\x00\x00\x00\x00\x00\x00", 10).content_type == "audio/mpeg");
  CHECK(probe_media(std::string("\xFF\xFB\x90\x64\x00", 5), 5).content_type == "audio/mpeg");
  auto mp4 = probe_media(std::string("\x00\x00\x00\x18"
                                     "ftypisom\x00\x00\x02\x00",
                                     16),
                         16);
  CHECK(mp4.content_type == "video/mp4");
  CHECK_FALSE(mp4.exact);
  CHECK(probe_media("\x1A\x45\xDF\xA3\x9F\x42\x82\x84webm", 12).content_type == "video/webm");
  CHECK(probe_media("\x1A\x45\xDF\xA3\x9F\x42\x82\x88matroska", 16).content_type ==
        "video/x-matroska");
  CHECK(probe_media("hello, world", 12).content_type.empty());
  CHECK(probe_media("", 0).content_type.empty());
}

TEST_CASE("declared types are matched through their aliases", "[models][uploads]") {
  CHECK(canonical_content_type("image/PNG") == "image/png");
  CHECK(canonical_content_type("image/jpg") == "image/jpeg");
  CHECK(canonical_content_type("audio/x-wav; codecs=1") == "audio/wav");
  CHECK(canonical_content_type("audio/mp3") == "audio/mpeg");
  CHECK(canonical_content_type("text/plain").empty());
  CHECK(canonical_content_type("").empty());
  for (auto type : accepted_content_types()) CHECK_FALSE(probe_extension_of(type).empty());
}

TEST_CASE("every prefix of real files probes without reading past its end", "[models][uploads]") {
  media::render_request picture{"prefixes", 9, 20, 10, 0};
  for (const auto& bytes :
       {media::render_png(picture), media::render_jpeg(picture), media::render_webp(picture),
        media::render_gif(picture, 1, 1), media::render_wav(picture, 100)}) {
    for (std::size_t n = 0; n <= std::min<std::size_t>(bytes.size(), 700); ++n) {
      auto p = probe_exact(bytes.substr(0, n), n);
      if (p.exact && p.width != 0) {
        CHECK(p.width == 20);
        CHECK(p.height == 10);
      }
    }
  }
}

TEST_CASE("2,000 random byte strings, some behind real magic numbers, never crash the probes",
          "[models][uploads]") {
  std::uint64_t seed = Catch::rngSeed();
  INFO("seed " << seed);
  std::mt19937_64 random(seed);
  const std::string magics[] = {"",
                                "\x89PNG\r\n\x1A\n",
                                "\xFF\xD8\xFF",
                                "RIFF\x10\x00\x00\x00WEBPVP8X",
                                "RIFF\x10\x00\x00\x00WEBPVP8L",
                                "RIFF\x10\x00\x00\x00WEBPVP8 ",
                                "GIF89a",
                                "RIFF\xFF\xFF\xFF\xFFWAVEfmt ",
                                "RIFF\x00\x00\x00\x00WAVEdata",
                                "ID3",
                                "\x1A\x45\xDF\xA3",
                                "\x00\x00\x00\x10"
                                "ftyp"};
  for (int i = 0; i < 2000; ++i) {
    std::string bytes = magics[random() % std::size(magics)];
    auto length = random() % 96;
    for (std::uint64_t j = 0; j < length; ++j) bytes.push_back(static_cast<char>(random()));
    auto p = probe_exact(bytes, random() % 2 ? bytes.size() : random());
    CHECK((p.content_type.empty() == p.extension.empty()));
    if (!p.exact) CHECK((p.width == 0 && p.duration_us == 0));
  }
}
