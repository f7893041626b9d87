// Output file storage for the device executors and the file download route.
#include "persistence/output_files.hpp"

#include "models/error.hpp"
#include "persistence/durable_fs.hpp"

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

}  // namespace

bool is_valid_name(std::string_view name) {
  return !name.empty() && name.find('/') == std::string_view::npos &&
         name.find("..") == std::string_view::npos && name.find('\0') == std::string_view::npos;
}

std::string path_of(const std::string& files_dir, std::string_view name) {
  return files_dir + "/" + shard_of(name) + "/" + std::string(name);
}

caf::error write(const std::string& files_dir, std::string_view name, std::string_view bytes,
                 bool durable) {
  if (!is_valid_name(name))
    return make_error(error_code::server_error, "invalid output name " + std::string(name));
  auto shard = files_dir + "/" + shard_of(name);
  auto written = durable_fs::write_file(shard, name, bytes, durable);
  if (written && ::access(shard.c_str(), F_OK) != 0) {  // the first file of this shard
    if (auto error = durable_fs::create_directories(shard)) return error;
    written = durable_fs::write_file(shard, name, bytes, durable);
  }
  return written;
}

caf::error sync(const std::string& files_dir, std::string_view name) {
  return durable_fs::sync_directory(files_dir + "/" + shard_of(name));
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

caf::error remove(const std::string& files_dir, std::string_view name) {
  if (!is_valid_name(name))
    return make_error(error_code::server_error, "invalid output name " + std::string(name));
  auto shard = files_dir + "/" + shard_of(name);
  if (::unlink(path_of(files_dir, name).c_str()) != 0) {
    if (errno != ENOENT)
      return make_error(error_code::unavailable, "cannot delete output " + std::string(name));
    if (::access(shard.c_str(), F_OK) != 0) return {};  // no shard: nothing to make durable
  }
  return durable_fs::sync_directory(shard);
}

std::optional<std::uint64_t> size(const std::string& files_dir, std::string_view name) {
  struct stat info {};
  if (!is_valid_name(name) || ::stat(path_of(files_dir, name).c_str(), &info) != 0 ||
      !S_ISREG(info.st_mode))
    return std::nullopt;
  return static_cast<std::uint64_t>(info.st_size);
}

namespace {

struct media_kind {
  std::string_view extension;
  std::string_view content_type;
};

constexpr media_kind media_kinds[] = {{".png", "image/png"},         {".gif", "image/gif"},
                                      {".jpg", "image/jpeg"},        {".webp", "image/webp"},
                                      {".mp4", "video/mp4"},         {".webm", "video/webm"},
                                      {".wav", "audio/wav"},         {".json", "application/json"},
                                      {".glb", "model/gltf-binary"}, {".mp3", "audio/mpeg"}};

}  // namespace

std::string name_for(std::string_view job_id, std::uint32_t index, std::string_view content_type,
                     std::string_view role) {
  std::string_view extension = ".bin";
  for (const auto& kind : media_kinds)
    if (kind.content_type == content_type) extension = kind.extension;
  auto suffix = role.empty() || role == "primary" ? std::string() : "-" + std::string(role);
  return std::string(job_id) + "-" + std::to_string(index) + suffix + std::string(extension);
}

std::string_view content_type_of(std::string_view name) {
  for (const auto& kind : media_kinds)
    if (name.ends_with(kind.extension)) return kind.content_type;
  return "application/octet-stream";
}

}  // namespace kiln::output_files
