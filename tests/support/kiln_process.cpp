// fork/execve of the kiln binary with its stdout on a pipe; temporary directories and files.
#include "tests/support/kiln_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace kiln::test {
namespace {

using clock_type = std::chrono::steady_clock;

/// This process's environment without KILN_* variables (the server would read them), with the
/// expensive assertion checks on (KILN_VERIFY=1), plus `add`.
std::vector<std::string> child_environment(const env_list& add) {
  std::vector<std::string> result;
  for (char** entry = environ; entry && *entry; ++entry)
    if (std::strncmp(*entry, "KILN_", 5) != 0) result.emplace_back(*entry);
  result.emplace_back("KILN_VERIFY=1");
  for (const auto& [name, value] : add) result.push_back(name + "=" + value);
  return result;
}

std::vector<char*> c_strings(std::vector<std::string>& strings) {
  std::vector<char*> result;
  for (auto& s : strings) result.push_back(s.data());
  result.push_back(nullptr);
  return result;
}

/// Forks and execs kiln; the child's stdout goes to `out_fd`, its stderr to `err_fd`.
pid_t spawn(std::vector<std::string> args, const env_list& env, int out_fd, int err_fd) {
  args.insert(args.begin(), kiln_binary());
  auto environment = child_environment(env);
  auto argv = c_strings(args);
  auto envp = c_strings(environment);
  pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(errno_text("fork"));
  if (pid == 0) {
    int null = ::open("/dev/null", O_RDONLY);
    ::dup2(null, 0);
    ::dup2(out_fd, 1);
    ::dup2(err_fd, 2);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  return pid;
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

/// Waits for `pid` until `deadline`; the decoded status, or nullopt on timeout.
std::optional<int> wait_until(pid_t pid, clock_type::time_point deadline) {
  for (;;) {
    int status = 0;
    pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) return decode_status(status);
    if (done < 0 && errno != EINTR) throw std::runtime_error("waitpid failed");
    if (clock_type::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

std::atomic<int> process_counter{0};

}  // namespace

std::string kiln_binary() { return KILN_BINARY; }

temp_dir::temp_dir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "kiln-e2e-XXXXXX").string();
  if (!::mkdtemp(pattern.data())) throw std::runtime_error(errno_text("mkdtemp"));
  path_ = pattern;
}

temp_dir::~temp_dir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string write_file(const std::string& path, const std::string& text) {
  std::ofstream file(path, std::ios::binary | std::ios::trunc);
  file << text;
  if (!file) throw std::runtime_error("cannot write " + path);
  return path;
}

std::string read_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

std::string errno_text(const std::string& what) {
  int error = errno;  // before an allocation here could change it
  return what + ": " + std::strerror(error);
}

std::string write_config(const temp_dir& dir, const std::string& devices_json,
                         const std::string& extra_members) {
  // The default plans with request rates no test reaches, unless the test sets its own plans:
  // only the rate-limit tests should ever see a 429.
  const std::string plans =
    R"("plans":[{"name":"free","rank":0,"requests_per_minute":1000000,"max_concurrent_jobs":1},)"
    R"({"name":"starter","rank":1,"requests_per_minute":1000000,"max_concurrent_jobs":2},)"
    R"({"name":"pro","rank":2,"requests_per_minute":1000000,"max_concurrent_jobs":8},)"
    R"({"name":"enterprise","rank":3,"requests_per_minute":1000000,"max_concurrent_jobs":32}])";
  std::string members = extra_members;
  if (members.find("\"plans\"") == std::string::npos)
    members = members.empty() ? plans : members + "," + plans;
  return write_file(dir / "config.json",
                    std::string(R"({"admin_token":")") + admin_token +
                      R"(","demo_account":false,"durability":"fsync","devices":)" + devices_json +
                      "," + members + "}");
}

kiln_process::kiln_process(const std::string& data_dir, const std::string& config_file,
                           const env_list& env, const std::string& stderr_dir)
  : args_{"serve",    "--listen",  "127.0.0.1:0", "--data-dir", data_dir,
          "--config", config_file, "--log-level", "warn"},
    stderr_path_(((stderr_dir.empty() ? std::filesystem::path(data_dir).parent_path()
                                      : std::filesystem::path(stderr_dir)) /
                  ("kiln-" + std::to_string(process_counter++) + ".stderr"))
                   .string()) {
  start(env, std::chrono::seconds(20));
}

kiln_process::kiln_process(std::vector<std::string> args, std::string stderr_path,
                           const env_list& env, std::chrono::milliseconds startup_timeout)
  : args_(std::move(args)), stderr_path_(std::move(stderr_path)) {
  start(env, startup_timeout);
}

kiln_process::~kiln_process() {
  if (pid_ > 0) kill();
  if (stdout_fd_ >= 0) ::close(stdout_fd_);
}

void kiln_process::start(const env_list& env, std::chrono::milliseconds startup_timeout) {
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  int err_fd = ::open(stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (err_fd < 0) throw std::runtime_error("cannot open " + stderr_path_);
  try {
    pid_ = spawn(args_, env, pipe_fds[1], err_fd);
  } catch (...) {
    ::close(pipe_fds[0]);
    ::close(pipe_fds[1]);
    ::close(err_fd);
    throw;
  }
  ::close(pipe_fds[1]);
  ::close(err_fd);
  stdout_fd_ = pipe_fds[0];

  const std::string marker = "kiln listening on http://127.0.0.1:";
  auto deadline = clock_type::now() + startup_timeout;
  auto fail = [&](const std::string& why) {
    if (pid_ > 0) kill();
    throw std::runtime_error("kiln did not start (" + why + ")\n--- stdout:\n" + stdout_ +
                             "\n--- stderr:\n" + stderr_text());
  };
  for (;;) {
    auto at = stdout_.find(marker);
    if (at != std::string::npos && stdout_.find('\n', at) != std::string::npos) {
      port_ = static_cast<std::uint16_t>(std::stoul(stdout_.substr(at + marker.size())));
      break;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
    if (left.count() <= 0) fail("no listening line within the start-up timeout");
    pollfd p{stdout_fd_, POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) continue;
    char chunk[4096];
    ssize_t n = ::read(stdout_fd_, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      auto code = wait_until(pid_, clock_type::now() + std::chrono::seconds(5));
      if (code) pid_ = -1;
      fail("stdout closed; exit code " + (code ? std::to_string(*code) : std::string("?")));
    }
    stdout_.append(chunk, static_cast<std::size_t>(n));
  }
  demo_key_ = line_value(stdout_, "demo api key");
  if (auto at = stdout_.find("demo account "); at != std::string::npos) {
    auto start = at + std::strlen("demo account ");
    demo_account_ = stdout_.substr(start, stdout_.find(' ', start) - start);
  }
}

void kiln_process::kill(int signal) {
  if (pid_ <= 0) return;
  ::kill(pid_, signal);
  reap(std::chrono::seconds(20));
}

bool kiln_process::exited() {
  if (pid_ <= 0) return true;
  int status = 0;
  pid_t done = 0;
  while ((done = ::waitpid(pid_, &status, WNOHANG)) < 0 && errno == EINTR) {
  }
  if (done == 0) return false;
  if (done < 0) throw std::runtime_error(errno_text("waitpid"));
  exit_code_ = decode_status(status);
  pid_ = -1;
  return true;
}

int kiln_process::terminate(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) throw std::logic_error("kiln is not running");
  ::kill(pid_, SIGTERM);
  return reap(timeout);
}

int kiln_process::reap(std::chrono::milliseconds timeout) {
  auto code = wait_until(pid_, clock_type::now() + timeout);
  if (!code) {
    ::kill(pid_, SIGKILL);
    wait_until(pid_, clock_type::now() + std::chrono::seconds(20));
    pid_ = -1;
    throw std::runtime_error("kiln did not exit within " + std::to_string(timeout.count()) +
                             " ms\n--- stderr:\n" + stderr_text());
  }
  pid_ = -1;
  exit_code_ = *code;
  return *code;
}

run_result run_kiln(const std::vector<std::string>& args, std::chrono::milliseconds timeout,
                    const env_list& env) {
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0)
    throw std::runtime_error("pipe2 failed");
  auto started = clock_type::now();
  pid_t pid = spawn(args, env, out[1], err[1]);
  ::close(out[1]);
  ::close(err[1]);
  run_result result;
  auto deadline = started + timeout;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_count = 2;
  while (open_count > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
    if (left.count() <= 0) break;
    int ready = ::poll(fds, 2, static_cast<int>(left.count()));
    if (ready <= 0) continue;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char chunk[4096];
      ssize_t n = ::read(fds[i].fd, chunk, sizeof chunk);
      if (n > 0) sinks[i]->append(chunk, static_cast<std::size_t>(n));
      else if (n == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_count;
      }
    }
  }
  for (auto& p : fds)
    if (p.fd >= 0) ::close(p.fd);
  auto code = wait_until(pid, deadline);
  if (!code) {
    ::kill(pid, SIGKILL);
    wait_until(pid, clock_type::now() + std::chrono::seconds(20));
    throw std::runtime_error("kiln did not finish within " + std::to_string(timeout.count()) +
                             " ms; stdout: " + result.out + "\nstderr: " + result.err);
  }
  result.exit_code = *code;
  result.elapsed =
    std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - started);
  return result;
}

std::string line_value(const std::string& text, const std::string& label) {
  std::istringstream lines(text);
  std::string line;
  const std::string prefix = label + ": ";
  while (std::getline(lines, line))
    if (line.rfind(prefix, 0) == 0) return line.substr(prefix.size());
  return {};
}

}  // namespace kiln::test
