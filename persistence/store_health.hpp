// Whether the store can take writes, and getting it back when it cannot. Two faults stop writes:
// a disk nearly full (free space under storage.reserve_bytes: writes are refused before RocksDB
// meets ENOSPC, so nothing is half-written) and a failed write (RocksDB in its background-error
// state). While degraded, every write is refused at once without touching the disk; a thread
// retries every storage.resume_interval_ms (free space, or RocksDB's Resume()) and clears the
// fault when it can. A fault RocksDB cannot resume from (it says so: corruption, or a severity
// above kHardError, as after a failed WAL fsync; or, as a backstop, Resume() still fails after
// limits::store_resume_attempts_max tries) ends the process (on_fatal, called once), so that a
// supervisor restarts Kiln and recovery reads what is really on disk.
#pragma once

#include <caf/error.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace kiln {

class store_health {
public:
  /// What RocksDB said to Resume(): resumed; busy (it is recovering by itself, e.g. from a full
  /// disk); retry (it failed); fatal (it never will).
  enum class resume_outcome : std::uint8_t { resumed, busy, retry, fatal };

  struct options {
    std::string directory;  ///< whose file system's free space counts
    std::uint64_t reserve_bytes = 0;
    std::chrono::milliseconds resume_interval{1000};
    /// How often the free space is read while writes flow (a statvfs per group is too often).
    std::chrono::milliseconds space_check_interval{100};
  };

  struct status {
    bool writable = true;
    std::string reason;  ///< "disk_full" or "write_failed"; empty when writable
  };

  /// `resume` asks RocksDB to leave its error state; `on_fatal` is called once (from the health
  /// thread) with the reason when it cannot, and the thread stops trying.
  store_health(options opts, std::function<resume_outcome(std::string&)> resume,
               std::function<void(const std::string&)> on_fatal);
  ~store_health();
  store_health(const store_health&) = delete;
  store_health& operator=(const store_health&) = delete;

  /// Before a group is written: no error to go ahead; an `unavailable` error (nothing will be
  /// written) while degraded or when the disk is nearly full.
  caf::error admit();
  /// A write failed with RocksDB's `reason`: writes stop until RocksDB resumes. `no_space`: it
  /// failed for want of space, so resuming waits until the reserve is free again.
  void write_failed(const std::string& reason, bool no_space);
  status current() const;
  /// Ends the health thread (the store closes).
  void stop();

private:
  enum class fault : std::uint8_t { none, disk_full, write_failed, write_failed_no_space };
  void run();
  /// Free bytes on the directory's file system; the maximum when it cannot be read.
  std::uint64_t free_bytes() const;
  void enter(fault kind, std::string reason);

  options options_;
  std::function<resume_outcome(std::string&)> resume_;
  std::function<void(const std::string&)> on_fatal_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  fault fault_ = fault::none;
  std::string reason_;
  bool stopping_ = false;
  std::chrono::steady_clock::time_point next_space_check_{};
  std::thread thread_;
};

}  // namespace kiln
