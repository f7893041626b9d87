// A job's record as last written: what the job's next write changes (its status moves its
// listing keys and counts, persistence/job_listing.hpp), which is not always the record in
// memory (a run lost at a stop is queued again in memory only). A write that failed may still
// have landed (an unknown outcome), so after a failure the record is read back from the store
// before the next write is built: counts are additions, and must not be made twice.
#pragma once

#include "models/job.hpp"
#include "persistence/records.hpp"
#include "persistence/store.hpp"

#include <memory>

namespace kiln::detail {

class written_record {
public:
  /// A write of `value` landed.
  void landed(std::shared_ptr<const job> value) {
    value_ = std::move(value);
    in_doubt_ = false;
  }
  /// A write failed: it may have landed all the same.
  void failed() { in_doubt_ = true; }

  /// The record the next write starts from (read back from `db` after a failure, if it can be).
  const job* base(const store& db) {
    if (in_doubt_ && value_) {
      auto bytes = db.get(column::jobs, value_->id);
      if (bytes && *bytes)
        if (auto stored = records::decode_job(**bytes)) {
          value_ = std::make_shared<const job>(std::move(*stored));
          in_doubt_ = false;
        }
    }
    return value_.get();
  }

private:
  std::shared_ptr<const job> value_;
  bool in_doubt_ = false;
};

}  // namespace kiln::detail
