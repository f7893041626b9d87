// The job listing index and counts; see the header.
#include "persistence/job_listing.hpp"

#include "models/error.hpp"
#include "persistence/job_backfill.hpp"
#include "persistence/records.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <vector>

namespace kiln::listing {
namespace {

constexpr std::string_view built_key = "job_listing";  ///< meta: the index was built
constexpr job_status statuses[] = {job_status::queued, job_status::processing,
                                   job_status::succeeded, job_status::failed, job_status::canceled};

/// "<account>/<status>/": the prefix of one status's index keys.
std::string prefix(std::string_view account_id, job_status status) {
  return records::account_job_prefix(account_id) + std::string(status_name(status)) + "/";
}

std::string count_key(std::string_view account_id, job_status status) {
  return records::account_job_prefix(account_id) + std::string(status_name(status));
}

/// "<seq, 16 hex>": a job's place in an index, and the cursor that names it.
std::string place(std::uint64_t seq) {
  auto key = records::account_job_key("", seq);
  return key.substr(1);  // without the empty account's "/"
}

void put_status(write_batch& batch, const job& value) {
  batch.put(column::job_listing, prefix(value.account_id, value.status) + place(value.seq),
            value.id);
  batch.add(column::listing_counts, count_key(value.account_id, value.status), 1);
}

void erase_status(write_batch& batch, const job& value) {
  batch.erase(column::job_listing, prefix(value.account_id, value.status) + place(value.seq));
  batch.add(column::listing_counts, count_key(value.account_id, value.status), -1);
}

caf::expected<std::uint64_t> count_of(const store& db, const std::string& account_id,
                                      job_status status) {
  auto bytes = db.get(column::listing_counts, count_key(account_id, status));
  if (!bytes) return bytes.error();
  if (!*bytes) return std::uint64_t{0};
  auto count = decode_count(**bytes);
  if (!count || *count < 0)
    return make_error(error_code::server_error, "a listing count does not decode");
  return static_cast<std::uint64_t>(*count);
}

}  // namespace

index_range index_of(std::string_view account_id, std::optional<job_status> status) {
  if (status) return {column::job_listing, prefix(account_id, *status)};
  return {column::account_jobs, records::account_job_prefix(account_id)};
}

void update(write_batch& batch, const job& next, const job* before) {
  bool was_listed = before && before->deleted_at_ms == 0;
  bool is_listed = next.deleted_at_ms == 0;
  if (was_listed && is_listed && before->status == next.status) return;
  if (was_listed) erase_status(batch, *before);
  if (is_listed) put_status(batch, next);
  auto all_key = records::account_job_key(next.account_id, next.seq);
  if (was_listed && !is_listed) batch.erase(column::account_jobs, all_key);
  if (before && !was_listed && is_listed) batch.put(column::account_jobs, all_key, next.id);
}

caf::expected<std::uint64_t> total(const store& db, const std::string& account_id,
                                   std::optional<job_status> status) {
  if (status) return count_of(db, account_id, *status);
  std::uint64_t sum = 0;
  for (auto s : statuses) {
    auto count = count_of(db, account_id, s);
    if (!count) return count.error();
    sum += *count;
  }
  return sum;
}

namespace {

/// The seq of the account's newest listed job created before `before_ms`, or 0: a bisection over
/// seqs (creation times grow with them), each step a seek in account_jobs and one record read.
caf::expected<std::uint64_t> last_created_before(const store& db, const std::string& account_id,
                                                 std::int64_t before_ms) {
  const auto prefix = records::account_job_prefix(account_id);
  // The newest listed job at or below `at` (its seq; 0: none) and its creation time.
  auto at_or_below = [&](std::uint64_t at, std::uint64_t& seq,
                         std::int64_t& created) -> caf::error {
    seq = 0;
    std::string id;
    auto scanned = db.scan_reverse(column::account_jobs, prefix, prefix + place(at + 1),
                                   [&](std::string_view key, std::string_view job_id) {
                                     records::parse_seq(key.substr(prefix.size()), seq);
                                     id = std::string(job_id);
                                     return false;
                                   });
    if (scanned) return scanned;
    if (seq == 0) return {};
    auto bytes = db.get(column::jobs, id);
    if (!bytes) return bytes.error();
    auto record = *bytes ? records::decode_job(**bytes) : std::nullopt;
    if (!record) return make_error(error_code::server_error, "the job's record does not decode");
    created = record->created_at_ms;
    return {};
  };
  std::uint64_t high = 0, seq = 0, best = 0;
  std::int64_t created = 0;
  if (auto e = at_or_below(std::numeric_limits<std::uint64_t>::max() - 1, high, created)) return e;
  std::uint64_t low = 1;
  while (low <= high) {
    auto mid = low + (high - low) / 2;
    if (auto e = at_or_below(mid, seq, created)) return e;
    if (seq == 0 || created < before_ms) {  // nothing at or below mid is too new
      if (seq != 0) best = std::max(best, seq);
      low = mid + 1;
    } else {
      high = seq - 1;
    }
  }
  return best;
}

}  // namespace

caf::expected<job_page> page(const store& db, const listing_query& q) {
  job_page result;
  auto index = index_of(q.account_id, q.status);
  std::string cursor = q.cursor;
  if (q.created_before_ms > 0) {
    auto last = last_created_before(db, q.account_id, q.created_before_ms);
    if (!last) return last.error();
    if (*last == 0) {  // nothing was created before then
      auto counted = total(db, q.account_id, q.status);
      if (!counted) return counted.error();
      result.total = *counted;
      return result;
    }
    cursor = place(*last + 1);
  }
  // The index keys of the page and one more (has_more), after skipping `offset` keys. A visitor
  // must not call back into the store: the jobs are read once the scan has returned.
  std::vector<std::string> ids;
  std::uint32_t skipped = 0;
  auto visit = [&](std::string_view, std::string_view job_id) {
    if (skipped < q.offset) {
      ++skipped;
      return true;
    }
    ids.emplace_back(job_id);
    return ids.size() <= q.limit;
  };
  std::string from = cursor.empty() ? std::string{} : index.prefix + cursor;
  auto scanned = q.oldest_first ? db.scan_after(index.family, index.prefix, from, visit)
                                : db.scan_reverse(index.family, index.prefix, from, visit);
  if (scanned) return scanned;
  result.has_more = ids.size() > q.limit;
  if (result.has_more) ids.pop_back();
  for (const auto& id : ids) {
    auto bytes = db.get(column::jobs, id);
    if (!bytes) return bytes.error();
    if (!*bytes) continue;  // an index key without its record: nothing to show
    auto record = records::decode_job(**bytes);
    if (!record) return make_error(error_code::server_error, "the job's record does not decode");
    if (record->account_id != q.account_id) continue;
    result.data.push_back(std::move(*record));
  }
  if (result.has_more && !result.data.empty()) result.next_cursor = place(result.data.back().seq);
  auto counted = total(db, q.account_id, q.status);
  if (!counted) return counted.error();
  result.total = *counted;
  return result;
}

caf::error build_once(store& db, const std::function<void(std::size_t)>& progress) {
  std::map<std::string, std::int64_t> counts;
  return backfill_jobs(
    db, built_key, "the listing",
    [&](const job& record, write_batch& batch) {
      if (record.deleted_at_ms != 0) return;
      batch.put(column::job_listing, prefix(record.account_id, record.status) + place(record.seq),
                record.id);
      ++counts[count_key(record.account_id, record.status)];
    },
    [&](write_batch& last) {
      for (const auto& [key, count] : counts)
        last.put(column::listing_counts, key, encode_count(count));
    },
    progress);
}

}  // namespace kiln::listing
