// The loop thread; see the header.
#include "devices/detail/loop_thread.hpp"

#include <utility>

namespace kiln::detail {

loop_thread::loop_thread() : thread_([this] { run(); }) {}

loop_thread::~loop_thread() { stop({}); }

void loop_thread::post(std::function<void()> fn) {
  std::function<void()> dropped;  // destroyed after `lock` is released
  std::lock_guard lock(mutex_);
  if (exited_) {
    dropped = std::move(fn);
    return;
  }
  inbox_.push_back(std::move(fn));
  wake_.notify_one();
}

void loop_thread::after(std::chrono::milliseconds delay, std::function<void()> fn) {
  std::function<void()> dropped;
  std::lock_guard lock(mutex_);
  if (exited_) {
    dropped = std::move(fn);
    return;
  }
  timers_.emplace(clock::now() + delay, std::move(fn));
  wake_.notify_one();
}

void loop_thread::stop(std::function<void()> last) {
  if (!thread_.joinable()) return;
  post([this, last = std::move(last)] {
    if (last) last();
    close();
  });
  thread_.join();
}

void loop_thread::close() {
  std::deque<std::function<void()>> unrun;  // destroyed here, outside the lock
  std::multimap<clock::time_point, std::function<void()>> unfired;
  std::lock_guard lock(mutex_);
  exited_ = true;
  unrun.swap(inbox_);
  unfired.swap(timers_);
}

void loop_thread::run() {
  for (;;) {
    std::function<void()> next;
    {
      std::unique_lock lock(mutex_);
      for (;;) {
        if (exited_) return;
        if (!inbox_.empty()) {
          next = std::move(inbox_.front());
          inbox_.pop_front();
          break;
        }
        if (!timers_.empty() && timers_.begin()->first <= clock::now()) {
          next = std::move(timers_.begin()->second);
          timers_.erase(timers_.begin());
          break;
        }
        if (timers_.empty()) wake_.wait(lock);
        else wake_.wait_until(lock, timers_.begin()->first);
      }
    }
    next();
  }
}

}  // namespace kiln::detail
