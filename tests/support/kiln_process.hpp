// Starting the real `kiln` binary for end-to-end tests: temporary directories, config files,
// a server process that is ready once it printed its listening line, and one-shot CLI runs.
#pragma once

#include <sys/types.h>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <utility>
#include <vector>

namespace kiln::test {

/// The kiln binary under test (the KILN_BINARY compile definition).
std::string kiln_binary();

/// A fresh directory from mkdtemp, removed with everything in it when this goes away.
class temp_dir {
public:
  temp_dir();
  ~temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

private:
  std::filesystem::path path_;
};

/// Writes `text` to `path` and returns the path.
std::string write_file(const std::string& path, const std::string& text);
/// The whole content of a file, or "" when it cannot be read.
std::string read_file(const std::string& path);
/// "`what`: strerror(errno)", for the message of an exception thrown after a failed call.
std::string errno_text(const std::string& what);

/// A test config: demo account off, admin token "t0ken", fsync, and the given devices (a JSON
/// array), plus `extra_members` (more members of the top-level object, such as
/// `"jobs":{"max_attempts":2}`) when not empty. Written to `dir/config.json`; returns its path.
std::string write_config(
  const temp_dir& dir,
  const std::string& devices_json = R"([{"id":"sim-0","executor":"sim","slots":4,"latency_ms":0}])",
  const std::string& extra_members = {});

constexpr const char* admin_token = "t0ken";

using env_list = std::vector<std::pair<std::string, std::string>>;

/// A running `kiln serve`. Started by the constructor, which returns once the server printed
/// `kiln listening on http://127.0.0.1:PORT` (or throws with everything it printed).
class kiln_process {
public:
  /// Runs `kiln serve --listen 127.0.0.1:0 --data-dir DATA --config CONFIG --log-level warn`
  /// with stderr going to `kiln-N.stderr` in `stderr_dir` (default: DATA/..).
  kiln_process(const std::string& data_dir, const std::string& config_file,
               const env_list& env = {}, const std::string& stderr_dir = {});
  /// Runs kiln with exactly these arguments (after argv[0]).
  kiln_process(std::vector<std::string> args, std::string stderr_path, const env_list& env = {},
               std::chrono::milliseconds startup_timeout = std::chrono::seconds(20));
  ~kiln_process();
  kiln_process(const kiln_process&) = delete;
  kiln_process& operator=(const kiln_process&) = delete;

  std::uint16_t port() const { return port_; }
  /// The demo key and account printed on a first start with demo_account on, else "".
  const std::string& demo_key() const { return demo_key_; }
  const std::string& demo_account() const { return demo_account_; }
  /// Everything printed on stdout up to the listening line.
  const std::string& startup_output() const { return stdout_; }
  std::string stderr_text() const { return read_file(stderr_path_); }
  /// Whether the process is started and not yet reaped (it may have exited meanwhile: see
  /// exited()).
  bool running() const { return pid_ > 0; }
  /// Whether the process has ended: reaps it (without waiting) when it exited by itself, and
  /// records its exit code.
  bool exited();
  /// The exit code of the ended process, or 128 + signal; -1 while it runs.
  int exit_code() const { return exit_code_; }

  /// Sends `signal` (SIGKILL by default) and reaps the process.
  void kill(int signal = 9);
  /// SIGTERM, then waits up to `timeout` for the exit; returns the exit code, or 128 + signal
  /// when a signal ended it. Throws when it did not exit in time (the process is then killed).
  int terminate(std::chrono::milliseconds timeout = std::chrono::seconds(20));

private:
  void start(const env_list& env, std::chrono::milliseconds startup_timeout);
  int reap(std::chrono::milliseconds timeout);

  std::vector<std::string> args_;
  std::string stderr_path_;
  pid_t pid_ = -1;
  int exit_code_ = -1;
  int stdout_fd_ = -1;
  std::uint16_t port_ = 0;
  std::string stdout_;
  std::string demo_key_;
  std::string demo_account_;
};

/// The outcome of a one-shot command.
struct run_result {
  int exit_code = -1;  ///< the exit code, or 128 + signal
  std::string out;
  std::string err;
  std::chrono::milliseconds elapsed{0};
};

/// Runs kiln with `args` to completion (killed after `timeout`, which then throws).
run_result run_kiln(const std::vector<std::string>& args,
                    std::chrono::milliseconds timeout = std::chrono::seconds(20),
                    const env_list& env = {});

/// The value after "label: " on a line of `text` (e.g. "api_key" in the admin CLI's output).
std::string line_value(const std::string& text, const std::string& label);

}  // namespace kiln::test
