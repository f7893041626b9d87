// A mounted faultfs for the tests; see the header.
#include "tests/support/faultfs_mount.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <stdexcept>
#include <thread>

#ifndef KILN_FAULTFS
#error "KILN_FAULTFS must name the faultfs binary (CMakeLists.txt defines it for kiln_tests)"
#endif

namespace kiln::test {
namespace {

using steady = std::chrono::steady_clock;

}  // namespace

int run_program(const std::vector<std::string>& args, std::string& output) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error(errno_text("pipe2"));
  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error(errno_text("fork"));
  if (pid == 0) {
    if (dup2(fds[1], STDOUT_FILENO) < 0) _exit(126);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(fds[1]);
  char buf[4096];
  ssize_t n = 0;
  while ((n = read(fds[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0) output.append(buf, static_cast<std::size_t>(n));
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

faultfs_mount::faultfs_mount() : root_(dir_ / "mnt"), socket_(dir_ / "ctl.sock") {
  try {
    start();
  } catch (...) {
    stop();
    throw;
  }
}

faultfs_mount::~faultfs_mount() { stop(); }

int faultfs_mount::ctl_status(const std::vector<std::string>& words, std::string& reply) const {
  std::vector<std::string> args{KILN_FAULTFS, "ctl", socket_};
  args.insert(args.end(), words.begin(), words.end());
  return run_program(args, reply);
}

std::string faultfs_mount::ctl(const std::string& command, const std::string& arg) const {
  std::string reply;
  std::vector<std::string> words{command};
  if (!arg.empty()) words.push_back(arg);
  int status = ctl_status(words, reply);
  INFO("faultfs ctl " << command << " " << arg << " -> " << reply);
  REQUIRE(status == 0);
  return reply;
}

void faultfs_mount::start() {
  if (::access("/dev/fuse", R_OK | W_OK) != 0)
    throw std::runtime_error("faultfs needs /dev/fuse and root: " + errno_text("/dev/fuse"));
  if (mkdir(root_.c_str(), 0755) != 0) throw std::runtime_error(errno_text("mkdir"));
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error(errno_text("pipe2"));
  out_fd_ = fds[0];
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error(errno_text("fork"));
  if (pid_ == 0) {
    // If this test process dies, the file system goes too (SIGTERM unmounts it).
    if (prctl(PR_SET_PDEATHSIG, SIGTERM) != 0) _exit(125);
    if (dup2(fds[1], STDOUT_FILENO) < 0) _exit(126);
    execl(KILN_FAULTFS, "faultfs", "mount", root_.c_str(), "--control", socket_.c_str(),
          "--foreground", static_cast<char*>(nullptr));
    _exit(127);
  }
  close(fds[1]);
  wait_ready();
}

void faultfs_mount::wait_ready() {
  std::string out;
  auto deadline = steady::now() + std::chrono::seconds(10);
  while (out.find("faultfs ready\n") == std::string::npos) {
    if (steady::now() > deadline) throw std::runtime_error("faultfs did not get ready");
    pollfd p{out_fd_, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    char buf[256];
    ssize_t n = read(out_fd_, buf, sizeof buf);
    if (n == 0) throw std::runtime_error("faultfs exited before it was ready");
    if (n > 0) out.append(buf, static_cast<std::size_t>(n));
  }
}

bool faultfs_mount::wait_exit(int milliseconds) {
  auto deadline = steady::now() + std::chrono::milliseconds(milliseconds);
  while (steady::now() < deadline) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || (r < 0 && errno == ECHILD)) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

void faultfs_mount::stop() noexcept {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    if (!wait_exit(5000)) {
      kill(pid_, SIGKILL);
      wait_exit(5000);
    }
    pid_ = -1;
  }
  if (!root_.empty()) umount2(root_.c_str(), MNT_DETACH);  // EINVAL when already unmounted
  if (out_fd_ >= 0) close(out_fd_);
  out_fd_ = -1;
  // dir_, destroyed after this, removes the mount point and the socket.
}

}  // namespace kiln::test
