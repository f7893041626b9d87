// Render cost of the builtin executor's media: a 2048x2048 PNG, the 512x512 default PNG, WebP and
// JPEG, the sim executor's small outputs, a 5 s video (320x180) as VP9 WebM and as GIF at 24 and
// at 8 fps, a 5 s WAV and the GLB model, each timed over several renders. Prints one RESULT line
// per kind with milliseconds per render (wall: best and median; CPU: median, from std::clock) and
// bytes, then one line per frame rate comparing the WebM with the GIF of the same frames
// (targets: the WebM in under 1 s of CPU and at least 3 times smaller).
//
//   media_bench [--rounds N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <functional>
#include <string>
#include <vector>

#include "config/limits.hpp"
#include "devices/media/audio_render.hpp"
#include "devices/media/media_render.hpp"
#include "devices/media/model3d_render.hpp"
#include "devices/media/video_render.hpp"

namespace {

using steady = std::chrono::steady_clock;

/// One kind's figures: milliseconds per render and the size of the last one.
struct timing {
  double best_ms = 0;
  double median_ms = 0;
  double cpu_ms = 0;  ///< median CPU time of this process per render
  std::size_t bytes = 0;
};

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

timing time_render(const char* name, int rounds, const std::function<std::string()>& render) {
  std::vector<double> wall_ms;
  std::vector<double> cpu_ms;
  timing result;
  for (int i = 0; i < rounds; ++i) {
    const auto start = steady::now();
    const std::clock_t cpu_start = std::clock();
    result.bytes = render().size();
    cpu_ms.push_back(1000.0 * static_cast<double>(std::clock() - cpu_start) / CLOCKS_PER_SEC);
    wall_ms.push_back(std::chrono::duration<double, std::milli>(steady::now() - start).count());
  }
  result.best_ms = *std::min_element(wall_ms.begin(), wall_ms.end());
  result.median_ms = median(wall_ms);
  result.cpu_ms = median(cpu_ms);
  std::printf("RESULT media kind=%s rounds=%d best_ms=%.3f median_ms=%.3f cpu_ms=%.3f bytes=%zu\n",
              name, rounds, result.best_ms, result.median_ms, result.cpu_ms, result.bytes);
  std::fflush(stdout);
  return result;
}

/// A 5 s video at `fps` as WebM and as GIF (the same frames), then the comparison line.
void compare_video(int rounds, std::uint32_t fps) {
  namespace limits = kiln::limits;
  const kiln::media::render_request request{"a kiln at dusk", 7, limits::video_width,
                                            limits::video_height, 0};
  const std::string suffix = "_5s_320x180_" + std::to_string(fps) + "fps";
  const timing webm = time_render(("webm" + suffix).c_str(), rounds,
                                  [&] { return kiln::media::render_webm(request, 5, fps); });
  const timing gif = time_render(("gif" + suffix).c_str(), rounds,
                                 [&] { return kiln::media::render_gif(request, 5, fps); });
  std::printf(
    "RESULT media video=5s_320x180 fps=%u webm_cpu_ms=%.2f webm_bytes=%zu gif_cpu_ms=%.2f "
    "gif_bytes=%zu gif_to_webm_size_ratio=%.2f webm_under_1s_cpu=%s webm_3x_smaller=%s\n",
    fps, webm.cpu_ms, webm.bytes, gif.cpu_ms, gif.bytes,
    static_cast<double>(gif.bytes) / static_cast<double>(webm.bytes),
    webm.cpu_ms < 1000.0 ? "yes" : "no", gif.bytes >= 3 * webm.bytes ? "yes" : "no");
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = 5;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--rounds" && i + 1 < argc) {
      rounds = std::max(1, std::atoi(argv[++i]));
    } else {
      std::printf(
        "usage: media_bench [--rounds N]\n"
        "Times the builtin executor's PNG, WebP, JPEG, GIF, WebM, WAV and GLB renders and the\n"
        "sim executor's small ones; prints RESULT lines.\n");
      return flag == "--help" || flag == "-h" ? 0 : 2;
    }
  }
  using kiln::media::render_request;
  const render_request square{"a kiln at dusk", 7, 512, 512, 0};
  time_render("png_2048x2048", rounds, [] {
    return kiln::media::render_png(render_request{"a kiln at dusk", 7, 2048, 2048, 0});
  });
  time_render("png_512x512", rounds, [&] { return kiln::media::render_png(square); });
  time_render("webp_q80_512x512", rounds, [&] { return kiln::media::render_webp(square); });
  time_render("jpeg_q85_512x512", rounds, [&] { return kiln::media::render_jpeg(square); });
  compare_video(rounds, 24);
  compare_video(rounds, kiln::limits::video_fps);
  time_render("video_thumbnail_png_320x180", rounds, [] {
    namespace limits = kiln::limits;
    return kiln::media::render_video_thumbnail(
      render_request{"a kiln at dusk", 7, limits::video_width, limits::video_height, 0});
  });
  time_render("wav_5s_24khz", rounds, [&] { return kiln::media::render_wav(square, 5000); });
  time_render("glb_cube", rounds * 20, [&] { return kiln::media::render_glb(square); });
  time_render("png_sim_32x32", rounds * 20, [&] { return kiln::media::render_small_png(square); });
  time_render("webp_sim_32x32", rounds * 20,
              [&] { return kiln::media::render_small_webp(square); });
  time_render("jpeg_sim_32x32", rounds * 20,
              [&] { return kiln::media::render_small_jpeg(square); });
  time_render("webm_sim_32x32_1s_2fps", rounds * 20,
              [&] { return kiln::media::render_small_webm(square); });
  time_render("gif_sim_32x32_1s_2fps", rounds * 20, [] {
    return kiln::media::render_gif(render_request{"a kiln at dusk", 7, 32, 32, 0}, 1, 2);
  });
  time_render("wav_sim_250ms", rounds * 20, [&] { return kiln::media::render_small_wav(square); });
  return 0;
}
