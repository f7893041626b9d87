// Usage reports: the credits an account's jobs used over a period, in total, per model and per
// UTC day, computed from its ledger's capture entries. Pure: the store reader feeds it entries.
#pragma once

#include "models/ledger.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace kiln {

struct usage_report {
  std::int64_t from_ms = 0;
  std::int64_t to_ms = 0;
  std::int64_t credits = 0;
  std::uint64_t jobs = 0;
  struct row {
    std::string key;  ///< model id or "YYYY-MM-DD"
    std::int64_t credits = 0;
    std::uint64_t jobs = 0;
  };
  std::vector<row> by_model;  ///< by model id
  std::vector<row> by_day;    ///< oldest day first
};

/// Builds a report over [from_ms, to_ms] from ledger entries fed in any order.
class usage_builder {
public:
  usage_builder(std::int64_t from_ms, std::int64_t to_ms);
  /// Counts `entry` if it is a capture inside the period.
  void add(const ledger_entry& entry);
  usage_report finish() &&;

private:
  usage_report report_;
  std::map<std::string, usage_report::row> by_model_, by_day_;
};

}  // namespace kiln
