// Magic numbers and header probes for uploads; see the header. Every multi-byte read goes through
// `be`/`le`, which check the bounds first.
#include "models/media_probe.hpp"

#include <algorithm>
#include <cctype>
#include <string>

namespace kiln {
namespace {

/// Big-endian unsigned of `n` bytes at `at`, or false when the bytes are not all there.
bool be(std::string_view s, std::size_t at, std::size_t n, std::uint64_t& out) {
  if (at > s.size() || n > s.size() - at) return false;
  out = 0;
  for (std::size_t i = 0; i < n; ++i) out = (out << 8) | static_cast<unsigned char>(s[at + i]);
  return true;
}

bool le(std::string_view s, std::size_t at, std::size_t n, std::uint64_t& out) {
  if (at > s.size() || n > s.size() - at) return false;
  out = 0;
  for (std::size_t i = n; i > 0; --i) out = (out << 8) | static_cast<unsigned char>(s[at + i - 1]);
  return true;
}

bool starts(std::string_view s, std::size_t at, std::string_view magic) {
  return at <= s.size() && s.substr(at).starts_with(magic);
}

unsigned char byte(std::string_view s, std::size_t at) {
  return at < s.size() ? static_cast<unsigned char>(s[at]) : 0;
}

bool set_size(media_probe& p, std::uint64_t width, std::uint64_t height) {
  if (width == 0 || height == 0 || width > 0xffffffffu || height > 0xffffffffu) return false;
  p.width = static_cast<std::uint32_t>(width);
  p.height = static_cast<std::uint32_t>(height);
  p.exact = true;
  return true;
}

void probe_png(std::string_view s, media_probe& p) {
  std::uint64_t width = 0, height = 0;
  if (starts(s, 12, "IHDR") && be(s, 16, 4, width) && be(s, 20, 4, height))
    set_size(p, width, height);
}

void probe_gif(std::string_view s, media_probe& p) {
  std::uint64_t width = 0, height = 0;
  if (le(s, 6, 2, width) && le(s, 8, 2, height)) set_size(p, width, height);
}

bool is_sof(unsigned char marker) {
  return marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
}

void probe_jpeg(std::string_view s, media_probe& p) {
  std::size_t at = 2;
  while (at + 1 < s.size()) {
    if (byte(s, at) != 0xFF) return;  // not a marker: the header is broken
    unsigned char marker = byte(s, at + 1);
    if (marker == 0xFF) {  // fill byte
      ++at;
      continue;
    }
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) {  // no length
      at += 2;
      continue;
    }
    if (marker == 0xD9 || marker == 0xDA) return;  // end or scan before any frame header
    std::uint64_t length = 0;
    if (!be(s, at + 2, 2, length) || length < 2) return;
    if (is_sof(marker)) {
      std::uint64_t height = 0, width = 0;
      if (be(s, at + 5, 2, height) && be(s, at + 7, 2, width)) set_size(p, width, height);
      return;
    }
    at += 2 + static_cast<std::size_t>(length);
  }
}

void probe_webp(std::string_view s, media_probe& p) {
  std::uint64_t width = 0, height = 0;
  if (starts(s, 12, "VP8X")) {
    if (le(s, 24, 3, width) && le(s, 27, 3, height)) set_size(p, width + 1, height + 1);
  } else if (starts(s, 12, "VP8L")) {
    std::uint64_t bits = 0;
    if (byte(s, 20) == 0x2F && le(s, 21, 4, bits))
      set_size(p, (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1);
  } else if (starts(s, 12, "VP8 ")) {
    if (starts(s, 23, "\x9D\x01\x2A") && le(s, 26, 2, width) && le(s, 28, 2, height))
      set_size(p, width & 0x3FFF, height & 0x3FFF);
  }
}

/// Walks the RIFF chunks after "WAVE" for the byte rate (fmt) and the data chunk's length.
void probe_wav(std::string_view s, std::uint64_t total_bytes, media_probe& p) {
  std::uint64_t byte_rate = 0;
  std::uint64_t at = 12;
  while (at + 8 <= s.size()) {
    auto id = s.substr(static_cast<std::size_t>(at), 4);
    std::uint64_t size = 0;
    if (!le(s, static_cast<std::size_t>(at) + 4, 4, size)) return;
    auto data_at = at + 8;
    if (id == "fmt ") {
      if (size < 16 || !le(s, static_cast<std::size_t>(data_at) + 8, 4, byte_rate)) return;
    } else if (id == "data") {
      if (byte_rate == 0 || data_at > total_bytes) return;
      auto data_bytes = std::min<std::uint64_t>(size, total_bytes - data_at);
      p.duration_us = static_cast<std::int64_t>(data_bytes * 1'000'000 / byte_rate);
      p.exact = true;
      return;
    }
    at = data_at + size + (size & 1);
  }
}

bool is_mpeg_frame(std::string_view s) {
  if (byte(s, 0) != 0xFF || (byte(s, 1) & 0xE0) != 0xE0) return false;
  bool layer = ((byte(s, 1) >> 1) & 3) != 0;
  auto bitrate = byte(s, 2) >> 4;
  bool rate = ((byte(s, 2) >> 2) & 3) != 3;
  return s.size() >= 4 && layer && bitrate != 0 && bitrate != 15 && rate;
}

struct kind {
  std::string_view content_type;
  std::string_view extension;
};

kind sniff(std::string_view s) {
  if (starts(s, 0, "\x89PNG\r\n\x1A\n")) return {"image/png", "png"};
  if (starts(s, 0, "\xFF\xD8\xFF")) return {"image/jpeg", "jpg"};
  if (starts(s, 0, "RIFF") && starts(s, 8, "WEBP")) return {"image/webp", "webp"};
  if (starts(s, 0, "GIF87a") || starts(s, 0, "GIF89a")) return {"image/gif", "gif"};
  if (starts(s, 0, "RIFF") && starts(s, 8, "WAVE")) return {"audio/wav", "wav"};
  if (starts(s, 0, "ID3") || is_mpeg_frame(s)) return {"audio/mpeg", "mp3"};
  if (starts(s, 0, "\x1A\x45\xDF\xA3")) {
    bool webm = s.substr(0, std::min<std::size_t>(s.size(), 64)).find("webm") != s.npos;
    return webm ? kind{"video/webm", "webm"} : kind{"video/x-matroska", "mkv"};
  }
  if (starts(s, 4, "ftyp")) return {"video/mp4", "mp4"};
  return {};
}

}  // namespace

const std::vector<std::string_view>& accepted_content_types() {
  static const std::vector<std::string_view> types{"image/png",  "image/jpeg",       "image/webp",
                                                   "image/gif",  "audio/wav",        "audio/mpeg",
                                                   "video/webm", "video/x-matroska", "video/mp4"};
  return types;
}

std::string_view probe_extension_of(std::string_view content_type) {
  static const std::pair<std::string_view, std::string_view> extensions[] = {
    {"image/png", "png"},   {"image/jpeg", "jpg"},       {"image/webp", "webp"},
    {"image/gif", "gif"},   {"audio/wav", "wav"},        {"audio/mpeg", "mp3"},
    {"video/webm", "webm"}, {"video/x-matroska", "mkv"}, {"video/mp4", "mp4"}};
  for (const auto& [type, extension] : extensions)
    if (type == content_type) return extension;
  return {};
}

std::string_view sniff_content_type(std::string_view head) { return sniff(head).content_type; }

std::string_view canonical_content_type(std::string_view declared) {
  auto media = declared.substr(0, declared.find(';'));
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  while (!media.empty() && media.front() == ' ') media.remove_prefix(1);
  std::string lower(media);
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static const std::pair<std::string_view, std::string_view> aliases[] = {
    {"image/jpg", "image/jpeg"},      {"audio/x-wav", "audio/wav"},
    {"audio/wave", "audio/wav"},      {"audio/vnd.wave", "audio/wav"},
    {"audio/mp3", "audio/mpeg"},      {"audio/webm", "video/webm"},
    {"audio/mp4", "video/mp4"},       {"audio/x-m4a", "video/mp4"},
    {"video/quicktime", "video/mp4"}, {"audio/x-matroska", "video/x-matroska"}};
  for (const auto& [alias, type] : aliases)
    if (lower == alias) return type;
  for (auto type : accepted_content_types())
    if (lower == type) return type;
  return {};
}

media_probe probe_media(std::string_view head, std::uint64_t total_bytes) {
  media_probe p;
  auto found = sniff(head);
  p.content_type = found.content_type;
  p.extension = found.extension;
  if (found.extension == "png") probe_png(head, p);
  else if (found.extension == "jpg") probe_jpeg(head, p);
  else if (found.extension == "webp") probe_webp(head, p);
  else if (found.extension == "gif") probe_gif(head, p);
  else if (found.extension == "wav") probe_wav(head, total_bytes, p);
  return p;
}

}  // namespace kiln
