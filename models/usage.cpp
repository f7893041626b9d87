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

void usage_builder::add(const job& value) {
  if (value.created_at_ms < report_.from_ms || value.created_at_ms > report_.to_ms) return;
  if (!value.spec.livemode) {  // a test job: counted apart, in no row
    auto& test = report_.test;
    test.created += 1;
    test.succeeded += value.status == job_status::succeeded;
    test.failed += value.status == job_status::failed;
    test.canceled += value.status == job_status::canceled;
    return;
  }
  report_.created += 1;
  report_.succeeded += value.status == job_status::succeeded;
  report_.failed += value.status == job_status::failed;
  report_.canceled += value.status == job_status::canceled;
  auto& model = by_model_[value.spec.model];
  model.created += 1;
  if (value.status == job_status::succeeded && value.spec.params.duration_seconds > 0) {
    model.timed += 1;
    model.duration_s += value.spec.params.duration_seconds;
  }
  by_day_[format_day(value.created_at_ms)].created += 1;
  const auto& task = value.spec.origin.task;
  by_operation_[task.empty() ? value.spec.type + "_generation" : task].created += 1;
}

usage_report usage_builder::finish() && {
  for (auto* rows : {&by_model_, &by_day_, &by_operation_}) {
    auto& out = rows == &by_model_ ? report_.by_model
                : rows == &by_day_ ? report_.by_day
                                   : report_.by_operation;
    for (auto& [key, row] : *rows) {
      out.push_back(row);
      out.back().key = key;
    }
  }
  return std::move(report_);
}

}  // namespace kiln
