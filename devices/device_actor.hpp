// Device actors (protocol/device.hpp): one per configured device. A device runs up to `slots`
// jobs at once with its executor: `builtin` renders real PNG/GIF files on the CPU, `sim` waits
// `latency_ms` and writes a small real PNG, `http` forwards the run to an inference server
// (docs/http-executor.md); outputs are stored on the device's output threads
// (devices/output_pool.hpp). Each can be told to fail (faults.device_fail_rate) or to crash
// (faults.device_crash_rate).
#pragma once

#include "base/faults.hpp"
#include "config/settings.hpp"
#include "devices/output_pool.hpp"
#include "protocol/scheduler.hpp"

#include <caf/fwd.hpp>

#include <memory>
#include <mutex>
#include <string>

namespace kiln {

/// The base URL of the node's listener ("http://HOST:PORT", or settings' public_url), known once
/// it listens: where an inference server fetches a job's inputs from. Set once, read by devices.
class public_base {
public:
  void set(std::string url) {
    std::lock_guard<std::mutex> lock(mutex_);
    url_ = std::move(url);
  }
  std::string get() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return url_;
  }

private:
  mutable std::mutex mutex_;
  std::string url_;
};

/// What a device needs from the node.
struct device_context {
  std::string files_dir;  ///< where outputs are written
  const settings* config = nullptr;
  faults_ptr faults;
  scheduler_actor scheduler;          ///< the device registers with it, which then supervises it
  std::string url_signing_key;        ///< signs the input URLs an http device hands over
  std::shared_ptr<public_base> base;  ///< may be null (no inputs by URL then)
};

/// A device actor and its output threads (devices/output_pool.hpp), one per slot.
struct device_handles {
  device_actor device;
  std::shared_ptr<output_pool> outputs;
};

/// Spawns the device and its output threads and registers the device with the scheduler, which
/// restarts it (with the same threads) when it dies.
device_handles spawn_device(caf::actor_system& system, const device_context& context,
                            const device_settings& device);

/// Ends the device and joins its output threads (a process that tears its actor system down,
/// as the tests do; `kiln serve` exits without a teardown).
void stop_device(const device_handles& handles);

}  // namespace kiln
