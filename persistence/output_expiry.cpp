// The output expiry index; see the header.
#include "persistence/output_expiry.hpp"

#include "base/assert.hpp"
#include "models/error.hpp"
#include "persistence/job_backfill.hpp"
#include "persistence/records.hpp"

#include <cstdio>

namespace kiln::output_expiry {
namespace {

constexpr std::string_view built_key = "output_expiry";  ///< meta: the index was built
constexpr std::size_t digits = 16;                       ///< of the completion time, in hex

}  // namespace

bool holds_files(const job& value) {
  return value.status == job_status::succeeded && !value.outputs.empty() &&
         value.outputs_expired_at_ms == 0;
}

std::string key(std::int64_t completed_at_ms, std::string_view job_id) {
  KILN_ASSERT(completed_at_ms >= 0);
  KILN_ASSERT(!job_id.empty());
  char text[digits + 1];
  std::snprintf(text, sizeof text, "%016llx", static_cast<unsigned long long>(completed_at_ms));
  return std::string(text) + "/" + std::string(job_id);
}

bool parse(std::string_view key_text, std::string_view account_id, entry& out) {
  if (key_text.size() < digits + 2 || key_text[digits] != '/' || account_id.empty()) return false;
  std::uint64_t completed = 0;
  if (!records::parse_seq(key_text.substr(0, digits), completed)) return false;
  out.key = std::string(key_text);
  out.completed_at_ms = static_cast<std::int64_t>(completed);
  out.job_id = std::string(key_text.substr(digits + 1));
  out.account_id = std::string(account_id);
  return true;
}

void update(write_batch& batch, const job& next, const job* before) {
  bool held = before && holds_files(*before);
  bool holds = holds_files(next);
  if (held && holds) {
    KILN_ASSERT(before->completed_at_ms == next.completed_at_ms);
    return;
  }
  if (!held && holds)
    batch.put(column::output_expiry, key(next.completed_at_ms, next.id), next.account_id);
  if (held && !holds) batch.erase(column::output_expiry, key(before->completed_at_ms, before->id));
}

caf::error due(const store& db, std::int64_t completed_at_ms_max, std::size_t limit,
               std::vector<entry>& out) {
  KILN_ASSERT(limit > 0);
  if (completed_at_ms_max < 0) return {};
  std::string past = key(completed_at_ms_max, "~");  // after every job id of that millisecond
  auto scanned =
    db.scan(column::output_expiry, "", [&](std::string_view key_text, std::string_view account) {
      if (key_text >= past) return false;
      entry found;
      if (parse(key_text, account, found)) out.push_back(std::move(found));
      return out.size() < limit;
    });
  KILN_ASSERT(out.size() <= limit);
  return scanned;
}

caf::error build_once(store& db, const std::function<void(std::size_t)>& progress) {
  return backfill_jobs(
    db, built_key, "the output expiry",
    [](const job& record, write_batch& batch) {
      if (holds_files(record))
        batch.put(column::output_expiry, key(record.completed_at_ms, record.id), record.account_id);
    },
    [](write_batch&) {}, progress);
}

}  // namespace kiln::output_expiry
