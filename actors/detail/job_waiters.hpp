// The GETs with `Prefer: wait` that a job actor holds: each is answered when the job ends, or
// with the job as it is when its wait runs out, whichever comes first.
#pragma once

#include "protocol/common.hpp"

#include <caf/typed_response_promise.hpp>

#include <algorithm>
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace kiln::detail {

class job_waiters {
public:
  using promise = caf::typed_response_promise<job>;

  /// Holds `p`; the token names it when its wait runs out.
  std::uint64_t add(promise p) {
    waiting_.emplace_back(next_, std::move(p));
    return next_++;
  }

  /// The promise whose wait ran out, unless the job's end already answered it.
  std::optional<promise> take(std::uint64_t token) {
    auto it = std::find_if(waiting_.begin(), waiting_.end(),
                           [&](const auto& w) { return w.first == token; });
    if (it == waiting_.end()) return std::nullopt;
    auto found = std::move(it->second);
    waiting_.erase(it);
    return found;
  }

  /// Answers every waiter with the job's end.
  void deliver_all(const job& terminal) {
    for (auto& [token, p] : waiting_) p.deliver(terminal);
    waiting_.clear();
  }

private:
  std::vector<std::pair<std::uint64_t, promise>> waiting_;
  std::uint64_t next_ = 0;
};

}  // namespace kiln::detail
