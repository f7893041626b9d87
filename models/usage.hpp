// Usage reports: the credits an account's jobs used over a period, in total, per model and per
// UTC day, computed from its ledger's capture entries; and the jobs made in the period by
// outcome, per model (with their video seconds) and per operation, from the jobs themselves.
// Pure: the store reader feeds it entries and jobs.
#pragma once

#include "models/job.hpp"
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
    std::string key;  ///< model id, "YYYY-MM-DD" or an operation
    std::int64_t credits = 0;
    std::uint64_t jobs = 0;       ///< captures
    std::uint64_t created = 0;    ///< jobs made in the period (listed, not deleted)
    std::uint64_t timed = 0;      ///< of those, succeeded with a duration
    std::int64_t duration_s = 0;  ///< their params.duration_seconds, summed
  };
  std::vector<row> by_model;      ///< by model id
  std::vector<row> by_day;        ///< oldest day first
  std::vector<row> by_operation;  ///< the front end's task, or "<type>_generation"; created only
  /// Live jobs made in the period, by where they are now.
  std::uint64_t created = 0, succeeded = 0, failed = 0, canceled = 0;
  /// Test jobs (made with a test key) made in the period, counted apart: they are in none of
  /// the counts and rows above, and never in credits (they have no ledger entries).
  struct outcomes {
    std::uint64_t created = 0, succeeded = 0, failed = 0, canceled = 0;
  } test;
};

/// Builds a report over [from_ms, to_ms] from ledger entries fed in any order.
class usage_builder {
public:
  usage_builder(std::int64_t from_ms, std::int64_t to_ms);
  /// Counts `entry` if it is a capture inside the period.
  void add(const ledger_entry& entry);
  /// Counts `value` if it was made inside the period.
  void add(const job& value);
  usage_report finish() &&;

private:
  usage_report report_;
  std::map<std::string, usage_report::row> by_model_, by_day_, by_operation_;
};

}  // namespace kiln
