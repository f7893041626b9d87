// Output files by type and format.
#include "devices/output_render.hpp"

#include "config/limits.hpp"
#include "devices/media/audio_render.hpp"
#include "devices/media/image_edit.hpp"
#include "devices/media/media_render.hpp"
#include "devices/media/model3d_render.hpp"
#include "devices/media/video_render.hpp"
#include "models/job_options.hpp"
#include "models/json_writer.hpp"
#include "models/media_probe.hpp"

#include <algorithm>
#include <fstream>
#include <sstream>

namespace kiln {
namespace {

constexpr std::uint32_t speech_chars_per_second = 15;

std::size_t utf8_chars(std::string_view text) {
  std::size_t count = 0;
  for (unsigned char c : text) count += (c & 0xC0) != 0x80;
  return count;
}

/// The builtin's source image: the job's first image input, read from its upload session's
/// directory and decoded; width 0 when there is none (or it cannot be read).
media::rgb_image source_image(const run_request& r) {
  if (r.uploads_dir.empty()) return {};
  for (const auto& input : r.inputs) {
    if (input.content_type.rfind("image/", 0) != 0) continue;
    auto path = r.uploads_dir + "/" + input.upload_id + "/" + std::to_string(input.file) + "." +
                std::string(probe_extension_of(input.content_type));
    std::ifstream in(path, std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    return media::decode_image(bytes.str(), input.content_type);
  }
  return {};
}

std::vector<rendered_file> image_files(const run_request& r, const media::render_request& what,
                                       bool small) {
  if (!small && !r.inputs.empty()) {  // an edit: the output is the source, fitted and tinted
    auto source = source_image(r);
    if (source.width != 0) {
      rendered_file f;
      f.bytes = media::render_edit_png(source, what);
      f.content_type = "image/png";
      f.width = what.width;
      f.height = what.height;
      return {std::move(f)};
    }
  }
  auto format = option_text(r.options, "output_format", "png");
  rendered_file f;
  if (format == "webp") {
    f.bytes = small ? media::render_small_webp(what) : media::render_webp(what);
    f.content_type = "image/webp";
  } else if (format == "jpeg") {
    f.bytes = small ? media::render_small_jpeg(what) : media::render_jpeg(what);
    f.content_type = "image/jpeg";
  } else {
    f.bytes = small ? media::render_small_png(what) : media::render_png(what);
    f.content_type = "image/png";
  }
  f.width = small ? media::small_image_side : what.width;
  f.height = small ? media::small_image_side : what.height;
  return {std::move(f)};
}

std::vector<rendered_file> video_files(const run_request& r, media::render_request what,
                                       bool small) {
  auto format = option_text(r.options, "output_format", "webm");
  rendered_file video;
  if (small) {
    what.width = what.height = 32;
    if (format == "gif") video.bytes = media::render_gif(what, 1, 2);
    else video.bytes = media::render_small_webm(what);
    video.width = video.height = 32;
    video.duration_ms = 1000;
  } else {
    what.width = limits::video_width;
    what.height = limits::video_height;
    auto fps = r.fps != 0 ? r.fps : limits::video_fps;
    auto seconds = r.params.duration_seconds;
    video.bytes = format == "gif" ? media::render_gif(what, seconds, fps)
                                  : media::render_webm(what, seconds, fps);
    video.width = what.width;
    video.height = what.height;
    video.duration_ms = seconds * 1000;
  }
  video.content_type = format == "gif" ? "image/gif" : "video/webm";
  std::vector<rendered_file> files{std::move(video)};
  {  // a still of the first frame, for lists and players (the sim's is small too)
    rendered_file thumbnail;
    thumbnail.bytes = small ? media::render_small_png(what) : media::render_video_thumbnail(what);
    thumbnail.content_type = "image/png";
    thumbnail.role = "thumbnail";
    thumbnail.width = small ? media::small_image_side : what.width;
    thumbnail.height = small ? media::small_image_side : what.height;
    files.push_back(std::move(thumbnail));
  }
  return files;
}

std::vector<rendered_file> audio_files(const run_request& r, const media::render_request& what,
                                       bool small) {
  rendered_file f;
  f.duration_ms = small                           ? media::small_wav_duration_ms
                  : r.params.duration_seconds > 0 ? r.params.duration_seconds * 1000
                                                  : speech_duration_ms(utf8_chars(r.prompt));
  f.bytes = small ? media::render_small_wav(what) : media::render_wav(what, f.duration_ms);
  f.content_type = "audio/wav";
  return {std::move(f)};
}

/// A JSON document with the model's fields, each a deterministic value from prompt and seed.
std::vector<rendered_file> json_files(const run_request& r, std::uint32_t index) {
  json_writer w;
  w.begin_object().field("model", r.model).field("prompt", r.prompt).field("seed", r.params.seed);
  w.field("index", index);
  for (std::size_t i = 0; i < r.fields.size(); ++i) {
    auto mix = r.params.seed ^ (std::uint64_t{index} << 32) ^ (i * 0x9E3779B97F4A7C15ull);
    w.field(r.fields[i], r.fields[i] + "-" + std::to_string(mix % 100000));
  }
  rendered_file f;
  f.bytes = w.end_object().take();
  f.content_type = "application/json";
  return {std::move(f)};
}

}  // namespace

std::uint32_t speech_duration_ms(std::size_t text_chars) {
  auto ms = static_cast<std::uint64_t>(text_chars) * 1000 / speech_chars_per_second;
  return static_cast<std::uint32_t>(
    std::clamp<std::uint64_t>(ms, 1000, media::wav_duration_ms_max));
}

std::vector<rendered_file> render_output(const run_request& request, std::uint32_t index,
                                         bool small) {
  media::render_request what{request.prompt, request.params.seed, request.params.width,
                             request.params.height, index};
  if (request.type == "video") return video_files(request, what, small);
  if (request.type == "audio") return audio_files(request, what, small);
  if (request.type == "json") return json_files(request, index);
  if (request.type == "3d") {
    rendered_file f;
    f.bytes = small ? media::render_small_glb(what) : media::render_glb(what);
    f.content_type = "model/gltf-binary";
    return {std::move(f)};
  }
  return image_files(request, what, small);
}

}  // namespace kiln
