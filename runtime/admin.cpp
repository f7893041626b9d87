// The offline admin commands (`kiln admin ...`) and `kiln devices`; see the header.
#include "runtime/admin.hpp"

#include "base/clock.hpp"
#include "devices/nvml.hpp"
#include "models/error.hpp"
#include "persistence/durable_fs.hpp"
#include "persistence/records.hpp"
#include "persistence/recovery.hpp"
#include "persistence/store.hpp"

#include <cstdio>
#include <filesystem>

namespace kiln {
namespace {

/// Opens the data directory's store, or says why not (most often: a server holds it).
std::unique_ptr<store> open_offline(const settings& config) {
  auto db = store::open(config.data_dir, config.durability);
  if (!db) {
    std::fprintf(stderr, "kiln: %s (is a server running on this data directory?)\n",
                 describe(db.error()).c_str());
    return nullptr;
  }
  return std::move(*db);
}

int failed(const char* what, const caf::error& error) {
  std::fprintf(stderr, "kiln: %s: %s\n", what, describe(error).c_str());
  return 1;
}

/// Whether `bytes` decodes as a record of `family` (families of index entries hold no record).
bool decodes(column family, std::string_view bytes) {
  switch (family) {
    case column::accounts:
      return records::decode_account(bytes).has_value();
    case column::keys:
      return records::decode_key(bytes).has_value();
    case column::jobs:
      return records::decode_job(bytes).has_value();
    case column::ledger:
      return records::decode_ledger_entry(bytes).has_value();
    case column::idempotency:
      return records::decode_idempotency_record(bytes).has_value();
    case column::deliveries:
      return records::decode_delivery(bytes).has_value();
    case column::job_events:
      return records::decode_event(bytes).has_value();
    default:
      return true;
  }
}

void print_record(column family, std::string_view key, std::string_view value) {
  std::printf("key: %.*s\ndecodes: %s\nbytes: %zu\nvalue: %.*s\n\n", static_cast<int>(key.size()),
              key.data(), decodes(family, value) ? "yes" : "NO", value.size(),
              static_cast<int>(value.size()), value.data());
}

}  // namespace

int list_gpus() {
  std::string error;
  auto gpus = nvml::library::open(error);
  if (!gpus) {
    std::fprintf(stderr, "kiln: %s\n", error.c_str());
    return 1;
  }
  auto found = gpus->list(error);
  std::printf("%s", nvml::describe(found).c_str());
  if (!error.empty()) std::fprintf(stderr, "kiln: %s\n", error.c_str());
  if (found.empty()) std::fprintf(stderr, "kiln: NVML found no GPU it may use\n");
  return found.empty() ? 1 : 0;
}

int admin_create_account(const settings& config, const std::string& name, const std::string& plan,
                         std::int64_t credits) {
  if (!config.find_plan(plan)) {
    std::fprintf(stderr, "kiln: unknown plan '%s'\n", plan.c_str());
    return 2;
  }
  auto db = open_offline(config);
  if (!db) return 1;
  auto created = new_account(name, plan, credits, system_clock{}.now_ms());
  if (auto error = db->commit(
        records::create_account_batch(created.account, created.key, created.initial_grant)))
    return failed("cannot write the account", error);
  std::printf("account: %s\nname: %s\nplan: %s\ncredits: %lld\napi_key: %s\nwebhook_secret: %s\n",
              created.account.id.c_str(), name.c_str(), plan.c_str(),
              static_cast<long long>(credits), created.api_key_plain.c_str(),
              created.account.webhook_secret.c_str());
  return 0;
}

int admin_grant(const settings& config, const std::string& account_id, std::int64_t amount,
                const std::string& reason) {
  auto db = open_offline(config);
  if (!db) return 1;
  auto bytes = db->get(column::accounts, account_id);
  if (!bytes) return failed("cannot read the account", bytes.error());
  auto record = *bytes ? records::decode_account(**bytes) : std::nullopt;
  if (!record) {
    std::fprintf(stderr, "kiln: no account %s in %s\n", account_id.c_str(),
                 config.data_dir.c_str());
    return 1;
  }
  auto sequences = recover_sequences(*db, account_id);
  if (!sequences) return failed("cannot read the ledger", sequences.error());
  // The same movement the account actor makes, from the stored balance: open holds stay as
  // they are, only granted and available grow.
  credit_ledger ledger(record->balance, {}, sequences->last_ledger_seq);
  auto entry = ledger.grant(amount, reason, system_clock{}.now_ms());
  record->balance = ledger.balance();
  write_batch batch;  // the entry and the balance it leads to, together
  batch.put(column::ledger, records::ledger_key(account_id, entry.seq), records::encode(entry));
  batch.put(column::accounts, account_id, records::encode(*record));
  if (auto error = db->commit(std::move(batch))) return failed("cannot write the grant", error);
  std::printf("account: %s\ngranted: %lld\nledger_entry: %s\navailable: %lld\n", account_id.c_str(),
              static_cast<long long>(amount), entry.id.c_str(),
              static_cast<long long>(record->balance.available));
  return 0;
}

int admin_snapshot(const settings& config, const std::string& to) {
  auto db = open_offline(config);
  if (!db) return 1;
  if (auto error = db->checkpoint(to)) {
    std::fprintf(stderr, "kiln: snapshot to %s failed: %s\n", to.c_str(), describe(error).c_str());
    return 1;
  }
  std::printf("snapshot: %s\n", to.c_str());
  return 0;
}

int admin_restore(const settings& config, const std::string& from) {
  namespace fs = std::filesystem;
  if (!fs::exists(fs::path(from) / "CURRENT")) {
    std::fprintf(stderr, "kiln: %s is not a snapshot (no CURRENT file)\n", from.c_str());
    return 2;
  }
  auto db_dir = fs::path(config.data_dir) / "db";
  std::error_code ec;
  if (auto error = durable_fs::create_directories(config.data_dir))
    return failed("cannot create the data directory", error);
  std::string kept;
  if (fs::exists(db_dir)) {
    {  // refuse while a server holds the directory
      auto db = open_offline(config);
      if (!db) return 1;
    }
    kept = db_dir.string() + ".before-restore-" + std::to_string(system_clock{}.now_ms());
    fs::rename(db_dir, kept, ec);
    if (ec) {
      std::fprintf(stderr, "kiln: cannot move %s aside: %s\n", db_dir.c_str(),
                   ec.message().c_str());
      return 1;
    }
  }
  fs::copy(from, db_dir, fs::copy_options::recursive, ec);
  if (ec) {
    std::fprintf(stderr, "kiln: cannot copy %s: %s\n", from.c_str(), ec.message().c_str());
    return 1;
  }
  // fs::copy and fs::rename fsync nothing: the copied files, the directories holding them, and
  // the data directory (whose entries the move aside and the copy changed) are synced before the
  // restore is reported, so that a power cut after "restored" cannot take it back.
  if (auto error = durable_fs::sync_tree(db_dir.string()))
    return failed("cannot make the restored database durable", error);
  if (!open_offline(config)) return 1;  // it opens: the restore is usable
  std::printf("restored: %s\ninto: %s\n", from.c_str(), db_dir.c_str());
  if (!kept.empty()) std::printf("previous database kept in: %s\n", kept.c_str());
  return 0;
}

int admin_inspect(const settings& config, const std::string& family_name, const std::string& key,
                  std::size_t limit) {
  auto family = parse_column(family_name);
  if (!family) {
    std::fprintf(stderr, "kiln: no family '%s'\n", family_name.c_str());
    return 2;
  }
  auto db = open_offline(config);
  if (!db) return 1;
  if (!key.empty()) {
    auto value = db->get(*family, key);
    if (!value) return failed("cannot read the record", value.error());
    if (!*value) {
      std::fprintf(stderr, "kiln: no key '%s' in %s\n", key.c_str(), family_name.c_str());
      return 1;
    }
    print_record(*family, key, **value);
    return 0;
  }
  std::size_t shown = 0;
  auto scanned = db->scan(*family, "", [&](std::string_view k, std::string_view value) {
    print_record(*family, k, value);
    return ++shown < limit;
  });
  if (scanned) return failed("cannot scan the family", scanned);
  return 0;
}

}  // namespace kiln
