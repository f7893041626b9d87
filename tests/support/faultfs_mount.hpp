// A mounted faultfs (tests/faultfs/faultfs.cpp): a FUSE file system that keeps writes in memory
// until they are fsynced, drops what was not at a simulated power cut, and can fill up or fail
// its fsyncs on command. Unmounted, and its directory removed, when this goes away. Needs root,
// /dev/fuse and the faultfs binary (KILN_FAULTFS).
#pragma once

#include "tests/support/kiln_process.hpp"

#include <sys/types.h>
#include <string>
#include <vector>

namespace kiln::test {

class faultfs_mount {
public:
  faultfs_mount();
  ~faultfs_mount();
  faultfs_mount(const faultfs_mount&) = delete;
  faultfs_mount& operator=(const faultfs_mount&) = delete;

  const std::string& root() const { return root_; }
  std::string path(const std::string& name) const { return root_ + "/" + name; }

  /// Runs `faultfs ctl SOCKET words...`: the exit status, and the reply in `reply`.
  int ctl_status(const std::vector<std::string>& words, std::string& reply) const;
  /// The same, failing the test unless the command succeeded; the reply. Commands: cut,
  /// enospc on|off, quota BYTES, eio-fsync on|off|once, stats.
  std::string ctl(const std::string& command, const std::string& arg = "") const;

private:
  void start();
  void wait_ready();
  bool wait_exit(int milliseconds);
  void stop() noexcept;

  temp_dir dir_;  ///< holds the mount point and the control socket
  std::string root_;
  std::string socket_;
  pid_t pid_ = -1;
  int out_fd_ = -1;
};

/// Runs `args` to completion; its exit status (-1 when it did not exit normally), its stdout in
/// `output`.
int run_program(const std::vector<std::string>& args, std::string& output);

}  // namespace kiln::test
