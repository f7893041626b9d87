// Recovery scan over the accounts, keys and jobs column families.
#include "persistence/recovery.hpp"

#include "persistence/records.hpp"

#include <algorithm>

namespace kiln {

recovered_state recover(const store& db, const std::function<void(std::size_t)>& progress) {
  recovered_state state;
  db.scan(column::accounts, "", [&](std::string_view, std::string_view value) {
    if (auto record = records::decode_account(value)) state.accounts.push_back(std::move(*record));
    return true;
  });
  db.scan(column::keys, "", [&](std::string_view, std::string_view value) {
    if (auto record = records::decode_key(value)) state.keys.push_back(std::move(*record));
    return true;
  });
  db.scan(column::jobs, "", [&](std::string_view, std::string_view value) {
    if (++state.jobs_scanned % 10000 == 0 && progress) progress(state.jobs_scanned);
    auto record = records::decode_job(value);
    if (!record) return true;
    if (!is_terminal(record->status))
      state.live_jobs[record->account_id].push_back(std::move(*record));
    else if (record->status == job_status::canceled && record->credits_held > 0 &&
             record->credits_refunded == 0)
      state.pending_refunds[record->account_id].push_back(std::move(*record));
    return true;
  });
  for (auto& [account_id, jobs] : state.live_jobs)
    std::sort(jobs.begin(), jobs.end(), [](const job& a, const job& b) { return a.seq < b.seq; });
  return state;
}

}  // namespace kiln
