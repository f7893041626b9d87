// The store's write health; see the header.
#include "persistence/store_health.hpp"

#include "base/logging.hpp"
#include "config/limits.hpp"
#include "models/error.hpp"

#include <spdlog/spdlog.h>
#include <sys/statvfs.h>

#include <algorithm>
#include <limits>

namespace kiln {

store_health::store_health(options opts, std::function<resume_outcome(std::string&)> resume,
                           std::function<void(const std::string&)> on_fatal)
  : options_(std::move(opts)), resume_(std::move(resume)), on_fatal_(std::move(on_fatal)) {
  thread_ = std::thread([this] { run(); });
}

store_health::~store_health() { stop(); }

void store_health::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

std::uint64_t store_health::free_bytes() const {
  struct statvfs info {};
  if (::statvfs(options_.directory.c_str(), &info) != 0)
    return std::numeric_limits<std::uint64_t>::max();
  return static_cast<std::uint64_t>(info.f_bavail) * info.f_frsize;
}

/// `reason` goes to the log; answers and /readyz name only the kind of fault (RocksDB's text
/// names server paths).
void store_health::enter(fault kind, std::string reason) {
  {
    std::lock_guard lock(mutex_);
    if (fault_ != fault::none) return;
    fault_ = kind;
    reason_ = kind == fault::write_failed ? "write_failed" : "disk_full";
  }
  logs::get("store")->error(R"("event":"store.degraded","fault":"{}","reason":"{}")",
                            kind == fault::write_failed ? "write_failed" : "disk_full",
                            logs::json_text(reason));
  wake_.notify_all();
}

caf::error store_health::admit() {
  auto now = std::chrono::steady_clock::now();
  {
    std::lock_guard lock(mutex_);
    if (fault_ == fault::none && now < next_space_check_) return {};
    if (fault_ != fault::none)
      return make_error(error_code::unavailable,
                        "storage is not taking writes (" + reason_ + "); nothing was written");
    next_space_check_ = now + options_.space_check_interval;
  }
  auto free = free_bytes();
  if (free >= options_.reserve_bytes) return {};
  enter(fault::disk_full, std::to_string(free) + " bytes free, " +
                            std::to_string(options_.reserve_bytes) + " kept in reserve");
  return make_error(error_code::unavailable,
                    "storage is not taking writes (the disk is full); nothing was written");
}

void store_health::write_failed(const std::string& reason, bool no_space) {
  enter(no_space ? fault::write_failed_no_space : fault::write_failed, reason);
}

store_health::status store_health::current() const {
  std::lock_guard lock(mutex_);
  return {fault_ == fault::none, reason_};
}

void store_health::run() {
  std::uint64_t attempts = 0;
  std::unique_lock lock(mutex_);
  for (;;) {
    wake_.wait(lock, [&] { return stopping_ || fault_ != fault::none; });
    if (stopping_) return;
    wake_.wait_for(lock, options_.resume_interval, [&] { return stopping_; });
    if (stopping_) return;
    auto kind = fault_;
    lock.unlock();
    bool cleared = false;
    std::string why;
    // A little more than the reserve, so that writes do not flap at its edge; saturating, for a
    // reserve set by hand above storage.reserve_bytes' cap.
    auto reserve = options_.reserve_bytes;
    auto margin = std::min(reserve / 4, std::numeric_limits<std::uint64_t>::max() - reserve);
    bool space = free_bytes() >= reserve + margin;
    if (kind == fault::disk_full) {
      cleared = space;
    } else if (kind == fault::write_failed_no_space && !space) {
      // RocksDB can resume from a full disk only once there is room again: wait for it.
    } else {
      auto outcome = resume_(why);
      if (outcome == resume_outcome::retry) {
        logs::get("store")->warn(R"("event":"store.resume_failed","attempts":{},"reason":"{}")",
                                 ++attempts, logs::json_text(why));
        // RocksDB marks the faults it will never resume from (fatal severity, corruption) and
        // `resume_` answers those fatal at once; this bound is only a backstop for one that
        // keeps failing without being marked: past this many tries, a restart is the way back.
        if (attempts >= limits::store_resume_attempts_max) outcome = resume_outcome::fatal;
      }
      if (outcome == resume_outcome::fatal) {
        logs::get("store")->critical(R"("event":"store.unrecoverable","reason":"{}")",
                                     logs::json_text(why));
        // Once, then no more tries: when on_fatal does not end the process (tests, the offline
        // admin commands) the store stays degraded, refusing writes, until it is closed.
        on_fatal_(why);
        return;
      }
      cleared = outcome == resume_outcome::resumed;
    }
    lock.lock();
    if (cleared) {
      attempts = 0;
      fault_ = fault::none;
      reason_.clear();
      next_space_check_ = {};
      logs::get("store")->warn(R"("event":"store.recovered")");
    }
  }
}

}  // namespace kiln
