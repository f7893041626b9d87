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
#include <system_error>
#include <vector>

namespace kiln::durable_fs {
namespace {

caf::error failure(std::string_view what, const std::string& path, int error_number) {
  // The path is the server's: it names the operation for the log and stays out of answers
  // (callers turn this into a message of their own).
  return make_error(error_code::unavailable,
                    std::string(what) + " " + path + ": " + std::strerror(error_number));
}

caf::error failure(std::string_view what, const std::string& path, const std::error_code& ec) {
  return make_error(error_code::unavailable, std::string(what) + " " + path + ": " + ec.message());
}

/// Writes all of `bytes`: 0, or the errno of the write() that failed, read at once.
int write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    auto written = ::write(fd, bytes.data(), bytes.size());
    if (written < 0) {
      int error_number = errno;
      if (error_number == EINTR) continue;
      return error_number;
    }
    // No progress sets no errno (whatever is in it belongs to an earlier call): call it EIO.
    if (written == 0) return EIO;
    bytes.remove_prefix(static_cast<std::size_t>(written));
  }
  return 0;
}

/// fsync of a file's data and size.
caf::error sync_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return failure("cannot open", path, errno);
  int synced = ::fsync(fd);
  int error_number = errno;
  ::close(fd);
  if (synced != 0) return failure("cannot fsync", path, error_number);
  return {};
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
  // The error_code overloads: a path that cannot be resolved or examined (e.g. a parent without
  // search permission) is this function's error, not a filesystem_error thrown at the caller.
  std::error_code ec;
  fs::path start = fs::absolute(path, ec);
  if (ec) return failure("cannot resolve directory", path, ec);
  std::vector<fs::path> missing;  // innermost first
  for (fs::path p = start.lexically_normal(); !p.empty(); p = p.parent_path()) {
    bool exists = fs::exists(p, ec);
    if (ec) return failure("cannot examine directory", p.string(), ec);
    if (exists) break;
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

caf::error write_file(const std::string& directory, std::string_view name, std::string_view bytes,
                      bool sync) {
  auto temporary = directory + "/" + temporary_name(name);
  auto final_path = directory + "/" + std::string(name);
  int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return failure("cannot create", temporary, errno);
  // Each step's errno is saved right after the call that failed (a later call, even one that
  // succeeds, may change it), with the step's name.
  const char* failed_step = nullptr;
  int error_number = write_all(fd, bytes);
  if (error_number != 0) {
    failed_step = "cannot write";
  } else if (sync && ::fdatasync(fd) != 0) {
    error_number = errno;
    failed_step = "cannot fsync";
  }
  if (::close(fd) != 0 && !failed_step) {
    error_number = errno;
    failed_step = "cannot close";
  }
  if (failed_step) {
    ::unlink(temporary.c_str());
    return failure(failed_step, temporary, error_number);
  }
  if (::rename(temporary.c_str(), final_path.c_str()) != 0) {
    error_number = errno;
    ::unlink(temporary.c_str());
    return failure("cannot rename into", final_path, error_number);
  }
  return {};
}

caf::error adopt_file(const std::string& from, const std::string& directory, std::string_view name,
                      bool sync) {
  if (sync) {
    int fd = ::open(from.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return failure("cannot open", from, errno);
    int error_number = ::fdatasync(fd) != 0 ? errno : 0;
    ::close(fd);
    if (error_number != 0) return failure("cannot fsync", from, error_number);
  }
  auto final_path = directory + "/" + std::string(name);
  if (::rename(from.c_str(), final_path.c_str()) != 0)
    return failure("cannot rename into", final_path, errno);
  return sync ? sync_directory(directory) : caf::error{};
}

caf::error sync_tree(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::recursive_directory_iterator it(path, ec);
  // Directories come before their contents: the order does not matter, only that everything is
  // synced before this returns.
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    auto type = it->status(ec).type();  // through symbolic links, as fs::copy copies
    if (ec) return failure("cannot examine", it->path().string(), ec);
    caf::error synced;
    if (type == fs::file_type::directory) synced = sync_directory(it->path().string());
    else if (type == fs::file_type::regular) synced = sync_file(it->path().string());
    if (synced) return synced;
  }
  if (ec) return failure("cannot list directory", path, ec);
  if (auto error = sync_directory(path)) return error;
  fs::path p = fs::path(path).lexically_normal();
  if (!p.has_filename()) p = p.parent_path();  // "a/db/" names db, as "a/db" does
  auto parent = p.parent_path();
  return sync_directory(parent.empty() ? std::string(".") : parent.string());
}

}  // namespace kiln::durable_fs
