// GIF side of media rendering: an animated, looping GIF of the deterministic animation of
// detail/video_frames.hpp (moving soft circles over a gradient, gently cycling a 256-colour
// palette) encoded in memory with giflib, and a decoder-based reader that reports a GIF's size
// and frame count.
#include <gif_lib.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "devices/media/detail/video_frames.hpp"
#include "devices/media/media_render.hpp"

namespace kiln::media {
namespace {

/// The palette as giflib wants it.
std::array<GifColorType, 256> make_palette(const detail::scene& s) {
  const detail::video_palette colours = detail::make_video_palette(s);
  std::array<GifColorType, 256> palette{};
  for (std::size_t i = 0; i < palette.size(); ++i) {
    palette[i].Red = colours[i].r;
    palette[i].Green = colours[i].g;
    palette[i].Blue = colours[i].b;
  }
  return palette;
}

int append_to_string(GifFileType* gif, const GifByteType* data, int length) {
  auto* out = static_cast<std::string*>(gif->UserData);
  try {
    out->append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(length));
  } catch (...) {
    return 0;
  }
  return length;
}

/// Owns the giflib encoder so it is closed on every path.
struct gif_writer {
  GifFileType* gif = nullptr;
  explicit gif_writer(std::string* out) {
    int error = 0;
    gif = EGifOpen(out, append_to_string, &error);
  }
  ~gif_writer() {
    int error = 0;
    if (gif != nullptr) EGifCloseFile(gif, &error);
  }
  gif_writer(const gif_writer&) = delete;
  gif_writer& operator=(const gif_writer&) = delete;
};

bool put_header(GifFileType* gif, const detail::scene& scene, std::uint32_t width,
                std::uint32_t height) {
  auto palette = make_palette(scene);
  std::unique_ptr<ColorMapObject, void (*)(ColorMapObject*)> map(
    GifMakeMapObject(256, palette.data()), GifFreeMapObject);
  if (!map) return false;
  EGifSetGifVersion(gif, true);
  if (EGifPutScreenDesc(gif, static_cast<int>(width), static_cast<int>(height), 8, 0, map.get()) ==
      GIF_ERROR) {
    return false;
  }
  static const GifByteType loop_forever[3] = {1, 0, 0};  // sub-block 1, loop count 0
  return EGifPutExtensionLeader(gif, APPLICATION_EXT_FUNC_CODE) != GIF_ERROR &&
         EGifPutExtensionBlock(gif, 11, "NETSCAPE2.0") != GIF_ERROR &&
         EGifPutExtensionBlock(gif, 3, loop_forever) != GIF_ERROR &&
         EGifPutExtensionTrailer(gif) != GIF_ERROR;
}

bool put_frame(GifFileType* gif, detail::frame_shader& shader, std::uint32_t height, int delay) {
  GraphicsControlBlock control{};
  control.DisposalMode = DISPOSE_DO_NOT;
  control.UserInputFlag = false;
  control.DelayTime = delay;
  control.TransparentColor = NO_TRANSPARENT_COLOR;
  GifByteType extension[4];
  EGifGCBToExtension(&control, extension);
  if (EGifPutExtension(gif, GRAPHICS_EXT_FUNC_CODE, 4, extension) == GIF_ERROR) return false;
  const int width = static_cast<int>(shader.width);
  if (EGifPutImageDesc(gif, 0, 0, width, static_cast<int>(height), false, nullptr) == GIF_ERROR) {
    return false;
  }
  for (std::uint32_t py = 0; py < height; ++py) {
    detail::shade_frame_row(shader, py);
    if (EGifPutLine(gif, shader.indices.data(), width) == GIF_ERROR) return false;
  }
  return true;
}

/// Input callback for DGifOpen: reads from a string_view cursor.
struct memory_reader {
  std::string_view bytes;
  std::size_t offset = 0;
};

int read_from_memory(GifFileType* gif, GifByteType* data, int length) {
  auto* reader = static_cast<memory_reader*>(gif->UserData);
  if (length <= 0) return 0;
  const std::size_t left = reader->bytes.size() - reader->offset;
  const std::size_t count = std::min(left, static_cast<std::size_t>(length));
  std::memcpy(data, reader->bytes.data() + reader->offset, count);
  reader->offset += count;
  return static_cast<int>(count);
}

}  // namespace

std::string render_gif(const render_request& request, std::uint32_t duration_seconds,
                       std::uint32_t fps) {
  if (!detail::valid_size(request.width, request.height)) return {};
  const std::uint64_t wanted = std::uint64_t{duration_seconds} * fps;
  if (wanted > detail::video_frames_max) return {};
  const auto frames = static_cast<std::uint32_t>(std::max<std::uint64_t>(wanted, 1));
  const int delay = static_cast<int>(std::max<std::uint32_t>(1, 100 / std::max(fps, 1U)));
  try {
    const detail::scene scene = detail::make_scene(request);
    detail::frame_shader shader = detail::make_frame_shader(scene, request.width, request.height);
    std::string out;
    gif_writer writer(&out);
    if (writer.gif == nullptr || !put_header(writer.gif, scene, request.width, request.height)) {
      return {};
    }
    for (std::uint32_t frame = 0; frame < frames; ++frame) {
      detail::place_frame(shader, frame, frames);
      if (!put_frame(writer.gif, shader, request.height, delay)) return {};
    }
    int error = 0;
    const int closed = EGifCloseFile(writer.gif, &error);
    writer.gif = nullptr;
    if (closed == GIF_ERROR) return {};
    return out;
  } catch (...) {
    return {};
  }
}

gif_info read_gif_info(std::string_view bytes) {
  if (bytes.size() < 6 || (bytes.substr(0, 6) != "GIF87a" && bytes.substr(0, 6) != "GIF89a")) {
    return {};
  }
  memory_reader reader{bytes, 0};
  int error = 0;
  GifFileType* gif = DGifOpen(&reader, read_from_memory, &error);
  if (gif == nullptr) return {};
  gif_info info;
  if (DGifSlurp(gif) == GIF_OK && gif->SWidth > 0 && gif->SHeight > 0 && gif->ImageCount > 0) {
    info.ok = true;
    info.width = static_cast<std::uint32_t>(gif->SWidth);
    info.height = static_cast<std::uint32_t>(gif->SHeight);
    info.frames = static_cast<std::uint32_t>(gif->ImageCount);
  }
  DGifCloseFile(gif, &error);
  return info;
}

}  // namespace kiln::media
