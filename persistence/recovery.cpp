// Recovery scan over the accounts, keys, jobs and pending deliveries.
#include "persistence/recovery.hpp"

#include "models/error.hpp"
#include "persistence/records.hpp"

#include <algorithm>
#include <string>
#include <vector>

namespace kiln {
namespace {

caf::error undecodable(column family, std::string_view key) {
  return make_error(error_code::server_error,
                    "cannot decode the " + std::string(column_name(family)) + " record '" +
                      std::string(key) + "'; inspect it with `kiln admin inspect --family " +
                      std::string(column_name(family)) + " --key " + std::string(key) + "`");
}

/// Scans `family` whole, decoding each record with `decode` and handing it to `take`; stops at
/// the first record that does not decode.
template <class Decode, class Take>
caf::error recover_family(const store& db, column family, Decode decode, Take take) {
  caf::error bad;
  auto scanned = db.scan(family, "", [&](std::string_view key, std::string_view value) {
    auto record = decode(value);
    if (!record) {
      bad = undecodable(family, key);
      return false;
    }
    take(std::move(*record));
    return true;
  });
  return bad ? bad : scanned;
}

/// The seq of the newest key under the account's prefix in `family` ("<account>/<16 hex>").
caf::expected<std::uint64_t> last_seq(const store& db, column family,
                                      const std::string& account_id) {
  std::uint64_t seq = 0;
  bool readable = true;
  auto scanned = db.scan_reverse(family, records::account_job_prefix(account_id), {},
                                 [&](std::string_view key, std::string_view) {
                                   auto digits = key.substr(key.rfind('/') + 1);
                                   readable = records::parse_seq(digits, seq);
                                   return false;
                                 });
  if (scanned) return scanned;
  if (!readable)
    return make_error(error_code::server_error, "cannot read the newest " +
                                                  std::string(column_name(family)) +
                                                  " key of account " + account_id);
  return seq;
}

}  // namespace

caf::expected<account_sequences> recover_sequences(const store& db, const std::string& account_id) {
  account_sequences s;
  auto jobs = last_seq(db, column::account_jobs, account_id);
  if (!jobs) return jobs.error();
  auto entries = last_seq(db, column::ledger, account_id);
  if (!entries) return entries.error();
  s.last_job_seq = *jobs;
  s.last_ledger_seq = *entries;
  auto scanned = db.scan(column::idempotency_expiry, records::account_job_prefix(account_id),
                         [&](std::string_view, std::string_view) {
                           s.has_idempotency_keys = true;
                           return false;
                         });
  if (scanned) return scanned;
  return s;
}

caf::expected<recovered_state> recover(const store& db,
                                       const std::function<void(std::size_t)>& progress) {
  recovered_state state;
  if (auto error = recover_family(db, column::accounts, records::decode_account,
                                  [&](account a) { state.accounts.push_back(std::move(a)); }))
    return error;
  for (const auto& a : state.accounts) {
    auto s = recover_sequences(db, a.id);
    if (!s) return s.error();
    s->last_job_seq = std::max(s->last_job_seq, a.last_job_seq);  // the newest may be deleted
    state.sequences.emplace(a.id, *s);
  }
  if (auto error = recover_family(db, column::keys, records::decode_key,
                                  [&](api_key k) { state.keys.push_back(std::move(k)); }))
    return error;
  auto take_job = [&](job record) {
    if (++state.jobs_scanned % 10000 == 0 && progress) progress(state.jobs_scanned);
    if (!is_terminal(record.status))
      state.live_jobs[record.account_id].push_back(std::move(record));
    else if (record.status == job_status::canceled && record.credits_held > 0 &&
             record.credits_refunded == 0)
      state.pending_refunds[record.account_id].push_back(std::move(record));
  };
  if (auto error = recover_family(db, column::jobs, records::decode_job, take_job)) return error;
  for (auto& [account_id, jobs] : state.live_jobs)
    std::sort(jobs.begin(), jobs.end(), [](const job& a, const job& b) { return a.seq < b.seq; });
  // The pending index names the deliveries to resume; their records hold their state. The keys
  // are read first and the records after the scan: a visitor must not call back into the store.
  std::vector<std::string> pending_keys;
  auto scanned =
    db.scan(column::pending_deliveries, "", [&](std::string_view key, std::string_view) {
      pending_keys.emplace_back(key);
      return true;
    });
  if (scanned) return scanned;
  for (const auto& key : pending_keys) {
    auto bytes = db.get(column::deliveries, key);
    if (!bytes) return bytes.error();
    if (!*bytes) continue;  // an index entry without its record: nothing to resume
    auto d = records::decode_delivery(**bytes);
    if (!d) return undecodable(column::deliveries, key);
    if (d->status == delivery_status::pending) state.pending_deliveries.push_back(std::move(*d));
  }
  return state;
}

}  // namespace kiln
