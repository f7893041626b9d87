// Billing periods: calendar months in UTC, named "2026-12". A plan's monthly credits are granted
// once per period (actors/account_actor.cpp) and agent.media shows the period's end.
#pragma once

#include <cstdint>
#include <string>

namespace kiln {

struct billing_period {
  std::string name;           ///< "2026-12"
  std::int64_t start_ms = 0;  ///< its first instant, Unix ms
  std::int64_t end_ms = 0;    ///< the next period's first instant
};

/// The month holding the instant `at_ms`.
billing_period period_of(std::int64_t at_ms);

}  // namespace kiln
