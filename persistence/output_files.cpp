// Output file storage for the device executors and the file download route.
#include "persistence/output_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

namespace kiln::output_files {
namespace {

std::string shard_of(std::string_view name) {
  auto stem = name.substr(0, name.find('-'));
  return std::string(stem.size() >= 2 ? stem.substr(stem.size() - 2) : "00");
}

bool write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    auto written = ::write(fd, bytes.data(), bytes.size());
    if (written < 0 && errno == EINTR) continue;
    if (written <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(written));
  }
  return true;
}

}  // namespace

bool is_valid_name(std::string_view name) {
  return !name.empty() && name.find('/') == std::string_view::npos &&
         name.find("..") == std::string_view::npos && name.find('\0') == std::string_view::npos;
}

std::string path_of(const std::string& files_dir, std::string_view name) {
  return files_dir + "/" + shard_of(name) + "/" + std::string(name);
}

bool write(const std::string& files_dir, std::string_view name, std::string_view bytes) {
  if (!is_valid_name(name)) return false;
  auto path = path_of(files_dir, name);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0 && errno == ENOENT) {  // first file of this shard
    ::mkdir((files_dir + "/" + shard_of(name)).c_str(), 0755);
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  }
  if (fd < 0) return false;
  bool ok = write_all(fd, bytes);
  return ::close(fd) == 0 && ok;
}

std::optional<std::string> read(const std::string& files_dir, std::string_view name) {
  if (!is_valid_name(name)) return std::nullopt;
  int fd = ::open(path_of(files_dir, name).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string bytes;
  struct stat info {};
  if (::fstat(fd, &info) == 0) bytes.reserve(static_cast<std::size_t>(info.st_size));
  char buffer[65536];
  for (;;) {
    auto got = ::read(fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    bytes.append(buffer, static_cast<std::size_t>(got));
  }
  ::close(fd);
  return bytes;
}

namespace {

struct media_kind {
  std::string_view extension;
  std::string_view content_type;
};

constexpr media_kind media_kinds[] = {{".png", "image/png"},  {".gif", "image/gif"},
                                      {".jpg", "image/jpeg"}, {".webp", "image/webp"},
                                      {".mp4", "video/mp4"},  {".webm", "video/webm"}};

}  // namespace

std::string name_for(std::string_view job_id, std::uint32_t index, std::string_view content_type) {
  std::string_view extension = ".bin";
  for (const auto& kind : media_kinds)
    if (kind.content_type == content_type) extension = kind.extension;
  return std::string(job_id) + "-" + std::to_string(index) + std::string(extension);
}

std::string_view content_type_of(std::string_view name) {
  for (const auto& kind : media_kinds)
    if (name.ends_with(kind.extension)) return kind.content_type;
  return "application/octet-stream";
}

}  // namespace kiln::output_files
