// Render cost of the builtin executor's media: a 2048x2048 PNG, the 512x512 default PNG, the sim
// executor's 32x32 PNG and a 5 s video (320x180 at 8 fps), each timed over several renders.
// Prints one RESULT line per kind with milliseconds per render (best and median) and bytes.
//
//   media_bench [--rounds N]
#include "config/limits.hpp"
#include "devices/media/media_render.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace {

using steady = std::chrono::steady_clock;

void time_render(const char* name, int rounds, const std::function<std::string()>& render) {
  std::vector<double> ms;
  std::size_t bytes = 0;
  for (int i = 0; i < rounds; ++i) {
    auto start = steady::now();
    bytes = render().size();
    ms.push_back(std::chrono::duration<double, std::milli>(steady::now() - start).count());
  }
  std::sort(ms.begin(), ms.end());
  std::printf("RESULT media kind=%s rounds=%d best_ms=%.2f median_ms=%.2f bytes=%zu\n", name,
              rounds, ms.front(), ms[ms.size() / 2], bytes);
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
        "Times the builtin executor's PNG and GIF renders; prints RESULT lines.\n");
      return flag == "--help" || flag == "-h" ? 0 : 2;
    }
  }
  using kiln::media::render_request;
  time_render("png_2048x2048", rounds, [] {
    return kiln::media::render_png(render_request{"a kiln at dusk", 7, 2048, 2048, 0});
  });
  time_render("png_512x512", rounds, [] {
    return kiln::media::render_png(render_request{"a kiln at dusk", 7, 512, 512, 0});
  });
  time_render("png_sim_32x32", rounds * 20, [] {
    return kiln::media::render_small_png(render_request{"a kiln at dusk", 7, 512, 512, 0});
  });
  time_render("gif_5s_320x180", rounds, [] {
    namespace limits = kiln::limits;
    return kiln::media::render_gif(
      render_request{"a kiln at dusk", 7, limits::video_width, limits::video_height, 0}, 5,
      limits::video_fps);
  });
  return 0;
}
