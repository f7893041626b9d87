// One thread that runs closures one at a time, as they are posted or once their delay has
// passed. The http executor's runs are state machines on it, so they need no locks of their own.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <thread>

namespace kiln::detail {

class loop_thread {
public:
  /// Starts the thread.
  loop_thread();
  /// Calls stop() with nothing to run last.
  ~loop_thread();
  loop_thread(const loop_thread&) = delete;
  loop_thread& operator=(const loop_thread&) = delete;

  /// Runs `fn` on the loop, after what is queued before it. Once the loop has stopped, `fn` is
  /// destroyed unrun, on this thread (a closure's destructor may answer whoever waits on it).
  void post(std::function<void()> fn);
  /// Runs `fn` on the loop once `delay` has passed; dropped unrun if the loop stops first.
  void after(std::chrono::milliseconds delay, std::function<void()> fn);
  /// Runs `last` on the loop after what is queued, then stops it: closures posted or timed
  /// after that are destroyed unrun. Joins the thread; must not be called from it. Once only.
  void stop(std::function<void()> last);

private:
  void run();
  void close();  ///< on the loop thread: no more closures run

  using clock = std::chrono::steady_clock;
  std::mutex mutex_;  ///< guards the four below
  std::condition_variable wake_;
  std::deque<std::function<void()>> inbox_;
  std::multimap<clock::time_point, std::function<void()>> timers_;
  bool exited_ = false;
  std::thread thread_;  ///< last: started once the members above exist
};

}  // namespace kiln::detail
