// A device's output threads: one per slot, rendering a run's outputs and storing them durably
// (persistence/output_files: each file fsynced and renamed into place, then one fsync of their
// directory; with `durability: none`, neither), so that neither rendering
// nor fsync ever runs on the actors' shared scheduler. Plain threads rather than detached
// actors: whoever spawns the device owns the pool and stops it (joining its threads), and the
// pool answers the device with messages that hold no reference to it.
#pragma once

#include "protocol/device.hpp"

#include <caf/expected.hpp>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace kiln {

/// Set by the device when a run is canceled: the pool stops before the run's next output.
using cancel_flag = std::shared_ptr<std::atomic<bool>>;

/// How a run's outputs are made: the builtin executor's real renders, the sim executor's small
/// files (a PNG, or a GIF for video), or files an executor already has (the http executor's), only
/// stored.
enum class render_kind : std::uint8_t { full, small, given };

class output_pool {
public:
  struct task {
    run_request request;
    render_kind kind = render_kind::full;
    std::vector<executor_outcome::file> files;  ///< render_kind::given
    cancel_flag canceled;
    std::int64_t credits_used = -1;  ///< what the executor reported the run used (run_result)
  };
  using done_function = std::function<void(caf::expected<run_result>)>;

  /// Starts `threads` threads storing under `files_dir`, fsyncing what they store if `durable`.
  output_pool(std::size_t threads, std::string files_dir, bool durable);
  /// Calls stop().
  ~output_pool();
  output_pool(const output_pool&) = delete;
  output_pool& operator=(const output_pool&) = delete;

  /// Queues `work`; `done` is called once, on a pool thread, with the stored outputs or why not
  /// (at once, on the calling thread, after stop()).
  void submit(task work, done_function done);
  /// Finishes the tasks running now, fails those still queued, and joins the threads.
  void stop();

private:
  void run();

  std::string files_dir_;
  bool durable_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::pair<task, done_function>> queue_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

}  // namespace kiln
