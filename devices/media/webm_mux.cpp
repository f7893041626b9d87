// A minimal WebM muxer for one VP9 track (see detail/webm_mux.hpp). Every element is written
// with its exact size, so the file needs no seeking back and no "unknown size" elements; ffmpeg,
// libwebm's webm_info and mkvinfo read the result, and browsers play it.
#include <bit>

#include "devices/media/detail/webm_mux.hpp"

namespace kiln::media::detail {
namespace {

// Element IDs (Matroska specification), with their class marker bits.
constexpr std::uint32_t id_ebml = 0x1A45DFA3;
constexpr std::uint32_t id_ebml_version = 0x4286;
constexpr std::uint32_t id_ebml_read_version = 0x42F7;
constexpr std::uint32_t id_ebml_max_id_length = 0x42F2;
constexpr std::uint32_t id_ebml_max_size_length = 0x42F3;
constexpr std::uint32_t id_doc_type = 0x4282;
constexpr std::uint32_t id_doc_type_version = 0x4287;
constexpr std::uint32_t id_doc_type_read_version = 0x4285;
constexpr std::uint32_t id_segment = 0x18538067;
constexpr std::uint32_t id_info = 0x1549A966;
constexpr std::uint32_t id_timecode_scale = 0x2AD7B1;
constexpr std::uint32_t id_duration = 0x4489;
constexpr std::uint32_t id_muxing_app = 0x4D80;
constexpr std::uint32_t id_writing_app = 0x5741;
constexpr std::uint32_t id_tracks = 0x1654AE6B;
constexpr std::uint32_t id_track_entry = 0xAE;
constexpr std::uint32_t id_track_number = 0xD7;
constexpr std::uint32_t id_track_uid = 0x73C5;
constexpr std::uint32_t id_track_type = 0x83;
constexpr std::uint32_t id_codec_id = 0x86;
constexpr std::uint32_t id_default_duration = 0x23E383;
constexpr std::uint32_t id_video = 0xE0;
constexpr std::uint32_t id_pixel_width = 0xB0;
constexpr std::uint32_t id_pixel_height = 0xBA;
constexpr std::uint32_t id_cluster = 0x1F43B675;
constexpr std::uint32_t id_timecode = 0xE7;
constexpr std::uint32_t id_simple_block = 0xA3;

constexpr std::uint64_t timecode_scale_ns = 1'000'000;  // block times in milliseconds
constexpr std::int64_t cluster_span_ms_max = 30'000;    // block offsets are int16 milliseconds
constexpr std::uint8_t track_video = 1;

void put_be(std::string& out, std::uint64_t value, int bytes) {
  while (bytes-- > 0) out.push_back(static_cast<char>(value >> (8 * bytes)));
}

/// An element: its ID, its payload size as an EBML variable-length integer, its payload.
void put_element(std::string& out, std::uint32_t id, const std::string& payload) {
  put_be(out, id, id > 0xFFFFFF ? 4 : id > 0xFFFF ? 3 : id > 0xFF ? 2 : 1);
  int length = 1;  // a size of all ones means "unknown", so stay below it
  while (length < 8 && payload.size() >= (std::uint64_t{1} << (7 * length)) - 1) ++length;
  put_be(out, payload.size() | (std::uint64_t{1} << (7 * length)), length);
  out += payload;
}

void put_uint(std::string& out, std::uint32_t id, std::uint64_t value) {
  int bytes = 1;
  while (bytes < 8 && (value >> (8 * bytes)) != 0) ++bytes;
  std::string payload;
  put_be(payload, value, bytes);
  put_element(out, id, payload);
}

void put_float64(std::string& out, std::uint32_t id, double value) {
  std::string payload;
  put_be(payload, std::bit_cast<std::uint64_t>(value), 8);
  put_element(out, id, payload);
}

std::string ebml_header() {
  std::string header;
  put_uint(header, id_ebml_version, 1);
  put_uint(header, id_ebml_read_version, 1);
  put_uint(header, id_ebml_max_id_length, 4);
  put_uint(header, id_ebml_max_size_length, 8);
  put_element(header, id_doc_type, "webm");
  put_uint(header, id_doc_type_version, 4);
  put_uint(header, id_doc_type_read_version, 2);
  std::string out;
  put_element(out, id_ebml, header);
  return out;
}

std::string segment_info(const webm_track& track) {
  std::string info;
  put_uint(info, id_timecode_scale, timecode_scale_ns);
  put_float64(info, id_duration, static_cast<double>(track.duration_ms));  // in timecode units
  put_element(info, id_muxing_app, "kiln");
  put_element(info, id_writing_app, "kiln");
  std::string out;
  put_element(out, id_info, info);
  return out;
}

std::string tracks(const webm_track& track) {
  std::string video;
  put_uint(video, id_pixel_width, track.width);
  put_uint(video, id_pixel_height, track.height);
  std::string entry;
  put_uint(entry, id_track_number, 1);
  put_uint(entry, id_track_uid, 1);
  put_uint(entry, id_track_type, track_video);
  put_element(entry, id_codec_id, "V_VP9");
  put_uint(entry, id_default_duration, 1'000'000'000ULL / (track.fps == 0 ? 1 : track.fps));
  put_element(entry, id_video, video);
  std::string list;
  put_element(list, id_track_entry, entry);
  std::string out;
  put_element(out, id_tracks, list);
  return out;
}

/// One cluster from packets[first], which it consumes up to the next keyframe; returns the index
/// of the first packet it did not take.
std::size_t put_cluster(std::string& segment, const std::vector<vp9_packet>& packets,
                        std::size_t first) {
  const std::int64_t start_ms = packets[first].time_ms;
  std::string cluster;
  put_uint(cluster, id_timecode, static_cast<std::uint64_t>(start_ms));
  std::size_t i = first;
  do {
    const vp9_packet& packet = packets[i];
    std::string block;
    block.push_back(static_cast<char>(0x81));  // track number 1 as an EBML varint
    put_be(block, static_cast<std::uint16_t>(packet.time_ms - start_ms), 2);
    block.push_back(static_cast<char>(packet.keyframe ? 0x80 : 0x00));  // flags: keyframe
    block += packet.data;
    put_element(cluster, id_simple_block, block);
  } while (++i < packets.size() && !packets[i].keyframe &&
           packets[i].time_ms - start_ms < cluster_span_ms_max);
  put_element(segment, id_cluster, cluster);
  return i;
}

}  // namespace

std::string mux_webm(const webm_track& track, const std::vector<vp9_packet>& packets) {
  std::string segment = segment_info(track) + tracks(track);
  for (std::size_t i = 0; i < packets.size();) i = put_cluster(segment, packets, i);
  std::string out = ebml_header();
  put_element(out, id_segment, segment);
  return out;
}

}  // namespace kiln::media::detail
