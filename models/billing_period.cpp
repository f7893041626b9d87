// Calendar months in UTC; see the header.
#include "models/billing_period.hpp"

#include <cstdio>

namespace kiln {
namespace {

constexpr std::int64_t day_ms = 86'400'000;

/// Days since 1970-01-01 of a civil date (Howard Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

/// The civil year and month of a day count (civil_from_days).
void civil_from_days(std::int64_t z, std::int64_t& y, unsigned& m) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  m = mp < 10 ? mp + 3 : mp - 9;
  y = static_cast<std::int64_t>(yoe) + era * 400 + (m <= 2);
}

}  // namespace

billing_period period_of(std::int64_t at_ms) {
  std::int64_t days = at_ms >= 0 ? at_ms / day_ms : (at_ms - day_ms + 1) / day_ms;
  std::int64_t year = 0;
  unsigned month = 0;
  civil_from_days(days, year, month);
  billing_period p;
  char name[32];
  std::snprintf(name, sizeof name, "%04lld-%02u", static_cast<long long>(year), month);
  p.name = name;
  p.start_ms = days_from_civil(year, month, 1) * day_ms;
  p.end_ms = month == 12 ? days_from_civil(year + 1, 1, 1) * day_ms
                         : days_from_civil(year, month + 1, 1) * day_ms;
  return p;
}

}  // namespace kiln
