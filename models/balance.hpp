// An account's credits at one instant. granted = available + held + used, always.
#pragma once

#include <cstdint>

namespace kiln {

struct balance {
  std::int64_t available = 0;
  std::int64_t held = 0;
  std::int64_t used = 0;
  std::int64_t granted = 0;  ///< = available + held + used
  bool operator==(const balance&) const = default;
};

}  // namespace kiln
