// Usage totals from ledger captures.
#include "models/usage.hpp"

#include "models/json_writer.hpp"

namespace kiln {

usage_builder::usage_builder(std::int64_t from_ms, std::int64_t to_ms) {
  report_.from_ms = from_ms;
  report_.to_ms = to_ms;
}

void usage_builder::add(const ledger_entry& entry) {
  if (entry.kind != ledger_kind::capture || entry.at_ms < report_.from_ms ||
      entry.at_ms > report_.to_ms)
    return;
  report_.credits += entry.amount;
  report_.jobs += 1;
  for (auto* row : {&by_model_[entry.model], &by_day_[format_day(entry.at_ms)]}) {
    row->credits += entry.amount;
    row->jobs += 1;
  }
}

usage_report usage_builder::finish() && {
  for (auto& [key, row] : by_model_) report_.by_model.push_back({key, row.credits, row.jobs});
  for (auto& [key, row] : by_day_) report_.by_day.push_back({key, row.credits, row.jobs});
  return std::move(report_);
}

}  // namespace kiln
