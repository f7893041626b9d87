// WebM side of media rendering: the frames of detail/video_frames.hpp (the GIF's animation)
// converted to I420 through the palette, encoded as VP9 with libvpx and muxed into WebM by
// detail::mux_webm; and the first frame as a PNG thumbnail.
#include <vpx/vp8cx.h>
#include <vpx/vpx_encoder.h>

#include <algorithm>
#include <array>
#include <vector>

#include "devices/media/detail/png_encode.hpp"
#include "devices/media/detail/video_frames.hpp"
#include "devices/media/detail/webm_mux.hpp"
#include "devices/media/video_render.hpp"

namespace kiln::media {
namespace {

constexpr unsigned int vp9_bitrate_kbps = 300;
constexpr int vp9_speed = 8;  // VP8E_SET_CPUUSED: the fastest realtime setting
constexpr unsigned int keyframe_interval_s = 2;

/// The palette in BT.601 limited-range YCbCr (libyuv's integer coefficients), which is what
/// VP9 profile 0 means when it says nothing else.
struct yuv_palette {
  std::array<std::uint8_t, 256> y{};
  std::array<int, 256> u{};
  std::array<int, 256> v{};
};

yuv_palette make_yuv_palette(const detail::video_palette& palette) {
  yuv_palette yuv;
  for (std::size_t i = 0; i < palette.size(); ++i) {
    const int r = palette[i].r;
    const int g = palette[i].g;
    const int b = palette[i].b;
    yuv.y[i] = static_cast<std::uint8_t>(((66 * r + 129 * g + 25 * b + 128) >> 8) + 16);
    yuv.u[i] = ((-38 * r - 74 * g + 112 * b + 128) >> 8) + 128;
    yuv.v[i] = ((112 * r - 94 * g - 18 * b + 128) >> 8) + 128;
  }
  return yuv;
}

/// Shades the placed frame into an I420 image: the Y plane, then U, then V, each chroma sample
/// the mean of its 2 x 2 pixels. Width and height are even.
void shade_i420(detail::frame_shader& shader, const yuv_palette& yuv, std::uint32_t height,
                std::vector<std::uint8_t>& i420, std::vector<std::uint8_t>& rows) {
  const std::uint32_t width = shader.width;
  const std::size_t luma = static_cast<std::size_t>(width) * height;
  std::uint8_t* u_plane = i420.data() + luma;
  std::uint8_t* v_plane = u_plane + luma / 4;
  for (std::uint32_t py = 0; py < height; py += 2) {
    detail::shade_frame_row(shader, py);
    std::copy(shader.indices.begin(), shader.indices.end(), rows.begin());
    detail::shade_frame_row(shader, py + 1);
    std::copy(shader.indices.begin(), shader.indices.end(), rows.begin() + width);
    std::uint8_t* y_row = i420.data() + static_cast<std::size_t>(py) * width;
    for (std::uint32_t px = 0; px < 2 * width; ++px) y_row[px] = yuv.y[rows[px]];
    const std::size_t chroma_row = static_cast<std::size_t>(py / 2) * (width / 2);
    for (std::uint32_t cx = 0; cx < width / 2; ++cx) {
      const std::uint8_t a = rows[2 * cx];
      const std::uint8_t b = rows[2 * cx + 1];
      const std::uint8_t c = rows[width + 2 * cx];
      const std::uint8_t d = rows[width + 2 * cx + 1];
      u_plane[chroma_row + cx] =
        static_cast<std::uint8_t>((yuv.u[a] + yuv.u[b] + yuv.u[c] + yuv.u[d] + 2) >> 2);
      v_plane[chroma_row + cx] =
        static_cast<std::uint8_t>((yuv.v[a] + yuv.v[b] + yuv.v[c] + yuv.v[d] + 2) >> 2);
    }
  }
}

/// libvpx's VP9 encoder with Kiln's settings; destroys the codec on every path.
class vp9_encoder {
public:
  vp9_encoder() = default;
  ~vp9_encoder() {
    if (open_) vpx_codec_destroy(&codec_);
  }
  vp9_encoder(const vp9_encoder&) = delete;
  vp9_encoder& operator=(const vp9_encoder&) = delete;

  bool open(std::uint32_t width, std::uint32_t height, std::uint32_t fps) {
    vpx_codec_enc_cfg_t config;
    if (vpx_codec_enc_config_default(vpx_codec_vp9_cx(), &config, 0) != VPX_CODEC_OK) return false;
    config.g_w = width;
    config.g_h = height;
    config.g_timebase = {1, static_cast<int>(fps)};  // one pts unit = one frame
    config.rc_target_bitrate = vp9_bitrate_kbps;
    config.g_threads = 1;        // the default is 8; one keeps the bytes a function of the inputs
    config.g_lag_in_frames = 0;  // packets come out as frames go in
    config.kf_max_dist = keyframe_interval_s * fps;
    config.rc_dropframe_thresh = 0;  // every frame becomes a packet (libvpx's default, stated)
    if (vpx_codec_enc_init(&codec_, vpx_codec_vp9_cx(), &config, 0) != VPX_CODEC_OK) return false;
    open_ = true;
    fps_ = fps;
    return vpx_codec_control(&codec_, VP8E_SET_CPUUSED, vp9_speed) == VPX_CODEC_OK;
  }

  /// Encodes one I420 frame (nullptr flushes) and collects the packets that come out.
  bool encode(std::uint8_t* i420, std::uint32_t width, std::uint32_t height, std::int64_t pts) {
    vpx_image_t image;
    vpx_image_t* input = nullptr;
    if (i420 != nullptr) {
      input = vpx_img_wrap(&image, VPX_IMG_FMT_I420, width, height, 1, i420);
      if (input == nullptr) return false;
    }
    if (vpx_codec_encode(&codec_, input, pts, 1, 0, VPX_DL_REALTIME) != VPX_CODEC_OK) return false;
    vpx_codec_iter_t iterator = nullptr;
    while (const vpx_codec_cx_pkt_t* packet = vpx_codec_get_cx_data(&codec_, &iterator)) {
      if (packet->kind != VPX_CODEC_CX_FRAME_PKT) continue;
      const auto* data = static_cast<const char*>(packet->data.frame.buf);
      const std::int64_t frame = packet->data.frame.pts;
      packets.push_back({std::string(data, packet->data.frame.sz), (frame * 1000 + fps_ / 2) / fps_,
                         (packet->data.frame.flags & VPX_FRAME_IS_KEY) != 0});
    }
    return true;
  }

  std::vector<detail::vp9_packet> packets;

private:
  vpx_codec_ctx_t codec_{};
  bool open_ = false;
  std::int64_t fps_ = 1;
};

/// Scratch state for the thumbnail: frame 0 shaded row by row, looked up in the palette.
struct thumbnail_rows {
  detail::frame_shader shader;
  detail::video_palette palette{};
  std::vector<unsigned char> rgb;
};

const unsigned char* first_frame_row(void* context, std::uint32_t py) {
  auto* rows = static_cast<thumbnail_rows*>(context);
  detail::shade_frame_row(rows->shader, py);
  unsigned char* out = rows->rgb.data();
  for (const std::uint8_t index : rows->shader.indices) {
    const detail::rgb8 colour = rows->palette[index];
    *out++ = colour.r;
    *out++ = colour.g;
    *out++ = colour.b;
  }
  return rows->rgb.data();
}

}  // namespace

std::string render_webm(const render_request& request, std::uint32_t duration_seconds,
                        std::uint32_t fps) {
  const std::uint32_t width = request.width;
  const std::uint32_t height = request.height;
  if (!detail::valid_size(width, height) || width % 2 != 0 || height % 2 != 0) return {};
  const std::uint64_t frames = std::uint64_t{duration_seconds} * fps;
  if (frames == 0 || frames > detail::video_frames_max) return {};
  try {
    const detail::scene scene = detail::make_scene(request);
    const yuv_palette yuv = make_yuv_palette(detail::make_video_palette(scene));
    detail::frame_shader shader = detail::make_frame_shader(scene, width, height);
    std::vector<std::uint8_t> i420(static_cast<std::size_t>(width) * height * 3 / 2);
    std::vector<std::uint8_t> rows(static_cast<std::size_t>(width) * 2);
    vp9_encoder encoder;
    if (!encoder.open(width, height, fps)) return {};
    encoder.packets.reserve(frames);
    for (std::uint32_t frame = 0; frame < frames; ++frame) {
      detail::place_frame(shader, frame, static_cast<std::uint32_t>(frames));
      shade_i420(shader, yuv, height, i420, rows);
      if (!encoder.encode(i420.data(), width, height, frame)) return {};
    }
    for (std::size_t count = encoder.packets.size() + 1; count != encoder.packets.size();) {
      count = encoder.packets.size();  // flush until no more packets come out
      if (!encoder.encode(nullptr, width, height, -1)) return {};
    }
    if (encoder.packets.size() != frames || !encoder.packets.front().keyframe) return {};
    const detail::webm_track track{width, height, fps, std::uint64_t{duration_seconds} * 1000};
    return detail::mux_webm(track, encoder.packets);
  } catch (...) {
    return {};
  }
}

std::string render_video_thumbnail(const render_request& request) {
  if (!detail::valid_size(request.width, request.height)) return {};
  try {
    const detail::scene scene = detail::make_scene(request);
    thumbnail_rows rows;
    rows.shader = detail::make_frame_shader(scene, request.width, request.height);
    rows.palette = detail::make_video_palette(scene);
    rows.rgb.resize(static_cast<std::size_t>(request.width) * 3);
    detail::place_frame(rows.shader, 0, 1);
    return detail::encode_png(request.width, request.height, first_frame_row, &rows);
  } catch (...) {
    return {};
  }
}

std::string render_small_webm(const render_request& request) {
  render_request small = request;
  small.width = small_webm_width;
  small.height = small_webm_height;
  return render_webm(small, small_webm_seconds, small_webm_fps);
}

}  // namespace kiln::media
