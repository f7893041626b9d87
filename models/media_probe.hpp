// What an uploaded file is, read from its own bytes: the media type its magic number says, and,
// for the formats whose headers say so, its image size or its audio duration. Pure functions over
// the first bytes of a file (config/limits.hpp: upload_probe_bytes_max) and its total size; every
// read is bounds-checked, so truncated or lying headers give "unknown", never a crash.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace kiln {

/// What probing found. `exact` is true when the size (images) or duration (WAV) was read; for a
/// known type whose header says neither (MP3, MP4, WebM) or that is cut short, it is false.
struct media_probe {
  std::string_view content_type;  ///< from the magic number; empty when none is known
  std::string_view extension;     ///< "png", "wav", ...; empty when the type is unknown
  bool exact = false;
  std::uint32_t width = 0;  ///< images only
  std::uint32_t height = 0;
  std::int64_t duration_us = 0;  ///< WAV only, microseconds
};

/// The media types uploads accept, as stored and served.
const std::vector<std::string_view>& accepted_content_types();
/// The media type `head` (a file's first bytes) starts with, or "" when none is known.
std::string_view sniff_content_type(std::string_view head);
/// The accepted media type a client's Content-Type names ("image/jpg" and "audio/x-wav" are
/// aliases; parameters and case are ignored), or "" when it names none of them.
std::string_view canonical_content_type(std::string_view declared);
/// The extension files of an accepted media type are stored with ("png"); "" for others.
std::string_view probe_extension_of(std::string_view content_type);
/// Sniffs `head` and reads what its header says. `total_bytes` is the file's size (a WAV's data
/// chunk longer than the file is cut to what the file holds).
media_probe probe_media(std::string_view head, std::uint64_t total_bytes);

}  // namespace kiln
