// An account's credits at one instant. granted = available + held + used, always, and
// 0 <= monthly <= available.
#pragma once

#include <cstdint>

namespace kiln {

struct balance {
  std::int64_t available = 0;
  std::int64_t held = 0;
  std::int64_t used = 0;
  std::int64_t granted = 0;  ///< = available + held + used
  /// Of `available`, the plan's monthly credits left this period: spent before the rest (the
  /// credits bought or granted), topped up at each period's start (models/ledger.hpp).
  std::int64_t monthly = 0;
  bool operator==(const balance&) const = default;
};

}  // namespace kiln
