// GIF side of media rendering: an animated, looping GIF of the deterministic scene (moving soft
// circles over a gradient, gently cycling a 256-colour palette) encoded in memory with giflib,
// and a decoder-based reader that reports a GIF's size and frame count.
#include <gif_lib.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <vector>

#include "devices/media/detail/media_pattern.hpp"
#include "devices/media/media_render.hpp"

namespace kiln::media {
namespace {

constexpr std::uint64_t max_frames = 10000;
constexpr float gradient_levels = 110.0f;  // palette entries the gradient spans
constexpr float blob_levels = 140.0f;      // palette entries a full-strength circle adds
constexpr float cycle_levels = 40.0f;      // how far the palette swings over the loop

/// Scratch state for shading one frame row by row into palette indices.
struct frame_shader {
  const detail::scene* scene = nullptr;
  detail::gradient_axis axis;
  float pixel = 1;
  std::uint32_t width = 0;
  std::array<float, detail::max_blobs> blob_x{};
  std::array<float, detail::max_blobs> blob_y{};
  int shift = 0;
  std::vector<float> field;
  std::vector<GifPixelType> indices;
};

void place_frame(frame_shader& shader, std::uint32_t frame, std::uint32_t frames) {
  const float turns = static_cast<float>(frame) / static_cast<float>(frames);
  for (std::uint32_t i = 0; i < shader.scene->blob_count; ++i) {
    detail::blob_centre(shader.scene->blobs[i], turns, shader.blob_x[i], shader.blob_y[i]);
  }
  shader.shift = static_cast<int>(std::lround(cycle_levels * detail::wave(turns)));
}

void shade_blob(frame_shader& shader, std::uint32_t i, std::uint32_t py) {
  const detail::blob& b = shader.scene->blobs[i];
  const float cx = shader.blob_x[i];
  const float r2 = b.radius * b.radius;
  const float inv_r2 = 1.0f / r2;
  const float level = b.strength * blob_levels;
  const float pixel = shader.pixel;
  float* field = shader.field.data();
  detail::for_blob_span(cx, shader.blob_y[i], r2, py, shader.width, pixel,
                        [&](std::uint32_t begin, std::uint32_t end, float dy2) {
                          for (std::uint32_t px = begin; px < end; ++px) {
                            const float dx = (static_cast<float>(px) + 0.5f) * pixel - cx;
                            const float q = 1.0f - (dx * dx + dy2) * inv_r2;
                            if (q > 0) field[px] += q * q * level;
                          }
                        });
}

void shade_row(frame_shader& shader, std::uint32_t py) {
  const detail::scene& s = *shader.scene;
  const float y = (static_cast<float>(py) + 0.5f) * shader.pixel;
  const float base = (y * s.dir_y - shader.axis.origin) * shader.axis.scale * gradient_levels;
  const float step = s.dir_x * shader.pixel * shader.axis.scale * gradient_levels;
  for (std::uint32_t px = 0; px < shader.width; ++px) {
    shader.field[px] = base + (static_cast<float>(px) + 0.5f) * step;
  }
  for (std::uint32_t i = 0; i < s.blob_count; ++i) shade_blob(shader, i, py);
  for (std::uint32_t px = 0; px < shader.width; ++px) {
    const int level = static_cast<int>(shader.field[px]) + shader.shift;
    shader.indices[px] = static_cast<GifPixelType>(static_cast<unsigned>(level) & 255U);
  }
}

/// A cyclic 256-colour ramp through the scene's colours, so palette shifts stay smooth.
std::array<GifColorType, 256> make_palette(const detail::scene& s) {
  const std::array<detail::rgb, 4> stops{s.from, s.blobs[0].colour, s.to, s.blobs[1].colour};
  std::array<GifColorType, 256> palette{};
  for (std::size_t i = 0; i < palette.size(); ++i) {
    const float pos = static_cast<float>(i) * (4.0f / 256.0f);
    const auto k = static_cast<std::size_t>(pos);
    const float f = pos - static_cast<float>(k);
    const float w = f * f * (3 - 2 * f);
    const detail::rgb& a = stops[k];
    const detail::rgb& b = stops[(k + 1) % 4];
    palette[i].Red = static_cast<GifByteType>(a.r + (b.r - a.r) * w + 0.5f);
    palette[i].Green = static_cast<GifByteType>(a.g + (b.g - a.g) * w + 0.5f);
    palette[i].Blue = static_cast<GifByteType>(a.b + (b.b - a.b) * w + 0.5f);
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

bool put_frame(GifFileType* gif, frame_shader& shader, std::uint32_t height, int delay) {
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
    shade_row(shader, py);
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
  if (wanted > max_frames) return {};
  const auto frames = static_cast<std::uint32_t>(std::max<std::uint64_t>(wanted, 1));
  const int delay = static_cast<int>(std::max<std::uint32_t>(1, 100 / std::max(fps, 1U)));
  try {
    const detail::scene scene = detail::make_scene(request);
    frame_shader shader;
    shader.scene = &scene;
    shader.axis = detail::make_gradient_axis(scene);
    shader.pixel = 1.0f / static_cast<float>(std::max(request.width, request.height));
    shader.width = request.width;
    shader.field.resize(request.width);
    shader.indices.resize(request.width);
    std::string out;
    gif_writer writer(&out);
    if (writer.gif == nullptr || !put_header(writer.gif, scene, request.width, request.height)) {
      return {};
    }
    for (std::uint32_t frame = 0; frame < frames; ++frame) {
      place_frame(shader, frame, frames);
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
