// Private helper of the WebM renderer: a minimal Matroska/WebM muxer for one VP9 video track
// (EBML header, then a Segment with Info, Tracks and one Cluster per keyframe). Debian 12's
// libwebm-dev ships no muxer headers, and one track needs only this much. Defined in
// webm_mux.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace kiln::media::detail {

/// One compressed VP9 frame as the encoder returned it.
struct vp9_packet {
  std::string data;
  std::int64_t time_ms = 0;  ///< presentation time from the start, in milliseconds
  bool keyframe = false;
};

/// What the WebM's headers say about the track.
struct webm_track {
  std::uint32_t width = 0;
  std::uint32_t height = 0;
  std::uint32_t fps = 1;          ///< sets DefaultDuration (1e9 / fps nanoseconds)
  std::uint64_t duration_ms = 0;  ///< the Segment's Duration element
};

/// A WebM file holding `packets` (in order; the first a keyframe) as SimpleBlocks of track 1.
/// A cluster starts at every keyframe and at least every 30 s (block offsets are 16-bit).
std::string mux_webm(const webm_track& track, const std::vector<vp9_packet>& packets);

}  // namespace kiln::media::detail
