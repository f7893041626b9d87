// Test helpers for media files: write rendered bytes to a temporary file and ask the real
// decoders (ffprobe, ffmpeg; on PATH, installed by scripts/install-deps.sh) what they see.
#pragma once

#include <unistd.h>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>

#include "tests/support/json.hpp"

namespace kiln::test {

/// A file in the temporary directory holding `bytes`, removed when this goes out of scope.
class media_file {
public:
  media_file(std::string_view bytes, std::string_view extension) {
    static int counter = 0;
    path_ =
      std::filesystem::temp_directory_path() / ("kiln-media-" + std::to_string(::getpid()) + "-" +
                                                std::to_string(++counter) + std::string(extension));
    std::FILE* file = std::fopen(path_.c_str(), "wb");
    if (file != nullptr) {
      std::fwrite(bytes.data(), 1, bytes.size(), file);
      std::fclose(file);
    }
  }
  ~media_file() {
    std::error_code ignored;
    std::filesystem::remove(path_, ignored);
  }
  media_file(const media_file&) = delete;
  media_file& operator=(const media_file&) = delete;
  std::string path() const { return path_.string(); }

private:
  std::filesystem::path path_;
};

/// What a shell command printed on stdout, and its exit status (-1 if it could not start).
struct command_result {
  int status = -1;
  std::string output;
};

inline command_result run_command(const std::string& command) {
  command_result result;
  std::FILE* pipe = ::popen(command.c_str(), "r");
  if (pipe == nullptr) return result;
  char buffer[65536];
  std::size_t count = 0;
  while ((count = std::fread(buffer, 1, sizeof buffer, pipe)) > 0)
    result.output.append(buffer, count);
  result.status = ::pclose(pipe);
  return result;
}

/// ffprobe's view of a file: the first stream and the format, with every frame decoded and
/// counted (nb_read_frames). Throws (via json::parse) if ffprobe printed no JSON.
inline json ffprobe(const media_file& file) {
  const command_result probe = run_command(
    "ffprobe -v error -count_frames -show_entries "
    "stream=codec_name,width,height,nb_read_frames,r_frame_rate,sample_rate,channels"
    ":format=format_name,duration -of json '" +
    file.path() + "'");
  return json::parse(probe.output);
}

/// ffmpeg decodes every frame of the file without an error (-xerror stops at the first); returns
/// what it said on stderr, empty when all went well.
inline command_result ffmpeg_decode(const media_file& file) {
  return run_command("ffmpeg -nostdin -v error -xerror -i '" + file.path() + "' -f null - 2>&1");
}

}  // namespace kiln::test
