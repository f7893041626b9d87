// Durable files and directories; see the header.
#include "persistence/durable_fs.hpp"

#include "models/error.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

namespace kiln::durable_fs {
namespace {

caf::error failure(std::string_view what, const std::string& path, int error_number) {
  // The path is the server's: it names the operation for the log and stays out of answers
  // (callers turn this into a message of their own).
  return make_error(error_code::unavailable,
                    std::string(what) + " " + path + ": " + std::strerror(error_number));
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

/// A name for a temporary file, unique within this process.
std::string temporary_name(std::string_view name) {
  static std::atomic<std::uint64_t> counter{0};
  return "." + std::string(name) + ".tmp-" + std::to_string(::getpid()) + "-" +
         std::to_string(counter.fetch_add(1, std::memory_order_relaxed));
}

}  // namespace

caf::error sync_directory(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return failure("cannot open directory", path, errno);
  int synced = ::fsync(fd);
  int error_number = errno;
  ::close(fd);
  if (synced != 0) return failure("cannot fsync directory", path, error_number);
  return {};
}

caf::error create_directories(const std::string& path) {
  namespace fs = std::filesystem;
  std::vector<fs::path> missing;  // innermost first
  for (fs::path p = fs::absolute(path).lexically_normal(); !p.empty() && !fs::exists(p);
       p = p.parent_path()) {
    missing.push_back(p);
    if (p == p.parent_path()) break;
  }
  for (auto it = missing.rbegin(); it != missing.rend(); ++it) {
    if (::mkdir(it->c_str(), 0755) != 0 && errno != EEXIST)
      return failure("cannot create directory", it->string(), errno);
    if (auto error = sync_directory(it->parent_path().string())) return error;
  }
  return {};
}

caf::error write_file(const std::string& directory, std::string_view name, std::string_view bytes) {
  auto temporary = directory + "/" + temporary_name(name);
  auto final_path = directory + "/" + std::string(name);
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return failure("cannot create", temporary, errno);
  bool written = write_all(fd, bytes);
  int error_number = errno;
  bool synced = written && ::fdatasync(fd) == 0;
  if (written && !synced) error_number = errno;
  bool closed = ::close(fd) == 0;
  if (!written || !synced || !closed) {
    ::unlink(temporary.c_str());
    return failure(!written ? "cannot write" : "cannot fsync", temporary, error_number);
  }
  if (::rename(temporary.c_str(), final_path.c_str()) != 0) {
    error_number = errno;
    ::unlink(temporary.c_str());
    return failure("cannot rename into", final_path, error_number);
  }
  return sync_directory(directory);
}

}  // namespace kiln::durable_fs
