// The store readers; see the header. Each query checks that the job or entries it reads belong to
// the asking account, so a reader never shows one account another's data.
#include "actors/store_reader.hpp"

#include "config/limits.hpp"
#include "models/job_timeline.hpp"
#include "persistence/job_listing.hpp"
#include "persistence/records.hpp"
#include "persistence/store.hpp"

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

namespace kiln {
namespace {

using reader_self = store_reader_actor::pointer;
using steady = std::chrono::steady_clock;

/// Stops a scan after `keys` keys or `time` of scanning, checking the clock every 256 keys.
class scan_budget {
public:
  scan_budget(std::size_t keys, std::chrono::milliseconds time)
    : keys_left_(keys), deadline_(steady::now() + time) {}
  /// Whether one more key may be visited.
  bool take() {
    if (keys_left_ == 0) return false;
    --keys_left_;
    return (++visited_ & 255) != 0 || steady::now() < deadline_;
  }

private:
  std::size_t keys_left_;
  std::size_t visited_ = 0;
  steady::time_point deadline_;
};

caf::error no_job(const std::string& job_id) {
  return make_error(error_code::not_found, "no job " + job_id);
}

/// The job if it is `account_id`'s; not_found otherwise; an error when the store failed.
caf::expected<job> owned_job(const store& db, const std::string& account_id,
                             const std::string& job_id) {
  auto bytes = db.get(column::jobs, job_id);
  if (!bytes) return bytes.error();
  if (!*bytes) return no_job(job_id);
  auto record = records::decode_job(**bytes);
  if (!record) return make_error(error_code::server_error, "the job's record does not decode");
  if (record->account_id != account_id || record->deleted_at_ms != 0) return no_job(job_id);
  return std::move(*record);
}

caf::expected<ledger_page> list_ledger(const store& db, const std::string& account_id,
                                       std::uint32_t limit, const std::string& cursor) {
  ledger_page page;
  std::string prefix = records::account_job_prefix(account_id);
  std::string before = cursor.empty() ? std::string{} : prefix + cursor;
  caf::error failure;
  auto scanned = db.scan_reverse(
    column::ledger, prefix, before, [&](std::string_view key, std::string_view value) {
      if (page.data.size() == limit) {
        page.has_more = true;
        return false;
      }
      auto entry = records::decode_ledger_entry(value);
      if (!entry) {
        failure = make_error(error_code::server_error, "a ledger entry does not decode");
        return false;
      }
      page.next_cursor = std::string(key.substr(prefix.size()));
      page.data.push_back(std::move(*entry));
      return true;
    });
  if (scanned) return scanned;
  if (failure) return failure;
  if (!page.has_more) page.next_cursor.clear();
  return page;
}

/// Ledger entries are in seq order, which is time order: the scan goes back from the newest
/// until it passes `from_ms`.
caf::expected<usage_report> usage(const store& db, const std::string& account_id,
                                  std::int64_t from_ms, std::int64_t to_ms) {
  usage_builder report(from_ms, to_ms);
  scan_budget budget(limits::usage_entries_max, limits::usage_scan_time_max);
  caf::error failure;
  auto scanned = db.scan_reverse(
    column::ledger, records::account_job_prefix(account_id), {},
    [&](std::string_view, std::string_view value) {
      if (!budget.take()) {
        failure = make_error(error_code::unavailable,
                             "the usage report is too large to compute now; try a shorter period");
        return false;
      }
      auto entry = records::decode_ledger_entry(value);
      if (!entry) {
        failure = make_error(error_code::server_error, "a ledger entry does not decode");
        return false;
      }
      if (entry->at_ms < from_ms) return false;
      report.add(*entry);
      return true;
    });
  if (scanned) return scanned;
  if (failure) return failure;
  // The jobs made in the period: the listing newest first, until one older than the period.
  bool older = false;
  std::string before;
  const auto index = listing::index_of(account_id, std::nullopt);
  while (!older) {
    std::vector<std::string> ids;
    scanned = db.scan_reverse(index.family, index.prefix, before,
                              [&](std::string_view key, std::string_view job_id) {
                                if (!budget.take()) {
                                  failure = make_error(error_code::unavailable,
                                                       "the usage report is too large to compute "
                                                       "now; try a shorter period");
                                  return false;
                                }
                                before = std::string(key);
                                ids.emplace_back(job_id);
                                return ids.size() < 256;
                              });
    if (scanned) return scanned;
    if (failure) return failure;
    for (const auto& id : ids) {
      auto record = owned_job(db, account_id, id);
      if (!record) {
        if (has_code(record.error(), error_code::not_found)) continue;
        return record.error();
      }
      if (record->created_at_ms < from_ms) {
        older = true;
        break;
      }
      report.add(*record);
    }
    if (ids.size() < 256) break;
  }
  return std::move(report).finish();
}

/// The records stored under the job ("<job id>/...") in `family`, decoded in key order, if the
/// job is `account_id`'s; records that do not decode are skipped.
template <class Decode>
auto records_of_job(const store& db, column family, const std::string& account_id,
                    const std::string& job_id, Decode decode)
  -> caf::expected<std::pair<job, std::vector<typename decltype(decode({}))::value_type>>> {
  auto record = owned_job(db, account_id, job_id);
  if (!record) return record.error();
  std::vector<typename decltype(decode({}))::value_type> found;
  auto scanned = db.scan(family, job_id + "/", [&](std::string_view, std::string_view value) {
    if (auto decoded = decode(value)) found.push_back(std::move(*decoded));
    return true;
  });
  if (scanned) return scanned;
  return std::pair(std::move(*record), std::move(found));
}

caf::expected<std::vector<job_event>> events(const store& db, const std::string& account_id,
                                             const std::string& job_id) {
  auto found = records_of_job(db, column::job_events, account_id, job_id, records::decode_event);
  if (!found) return found.error();
  return job_timeline(found->first, std::move(found->second));
}

caf::expected<std::vector<delivery>> deliveries(const store& db, const std::string& account_id,
                                                const std::string& job_id) {
  auto found = records_of_job(db, column::deliveries, account_id, job_id, records::decode_delivery);
  if (!found) return found.error();
  return std::move(found->second);
}

template <class T>
caf::result<T> answer(caf::expected<T> value) {
  if (!value) return value.error();
  return std::move(*value);
}

store_reader_actor::behavior_type store_reader(reader_self, const store* db, clock_ptr clock) {
  return {
    [=](list_jobs_atom, const job_query& q) { return answer(listing::page(*db, q)); },
    [=](ledger_atom, const std::string& account_id, std::uint32_t limit,
        const std::string& cursor) { return answer(list_ledger(*db, account_id, limit, cursor)); },
    [=](usage_atom, const std::string& account_id, std::int64_t from_ms) {
      return answer(usage(*db, account_id, from_ms, clock->now_ms()));
    },
    [=](events_atom, const std::string& account_id, const std::string& job_id) {
      return answer(events(*db, account_id, job_id));
    },
    [=](deliveries_atom, const std::string& account_id, const std::string& job_id) {
      return answer(deliveries(*db, account_id, job_id));
    },
  };
}

}  // namespace

std::vector<store_reader_actor> spawn_store_readers(caf::actor_system& system, const store* db,
                                                    clock_ptr clock, std::size_t count) {
  std::vector<store_reader_actor> readers;
  for (std::size_t i = 0; i < count; ++i)
    readers.push_back(system.spawn<caf::detached>(store_reader, db, clock));
  return readers;
}

}  // namespace kiln
