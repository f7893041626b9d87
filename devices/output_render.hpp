// What a run makes, by the job's type and output_format option: for each of its n outputs the
// files to store (a video's primary file and its first-frame thumbnail), their content types,
// roles and sizes. The builtin executor renders them in full; the sim executor renders small real
// files of the same types and roles. Pure: bytes in memory, no storage, no actors.
#pragma once

#include "protocol/device.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace kiln {

struct rendered_file {
  std::string bytes;  ///< empty: the render failed
  std::string content_type;
  std::string role = "primary";
  std::uint32_t width = 0;
  std::uint32_t height = 0;
  std::uint32_t duration_ms = 0;
};

/// How long a speech output lasts: the text read at about 15 characters a second, at least
/// one second and at most the longest WAV.
std::uint32_t speech_duration_ms(std::size_t text_chars);

/// The files of output `index` of `request`: full renders, or `small` ones for the sim.
std::vector<rendered_file> render_output(const run_request& request, std::uint32_t index,
                                         bool small);

}  // namespace kiln
