// The commands that work on a data directory with no server running (`kiln admin ...`), and
// `kiln devices`. Each prints what it did, or why not, and returns the process exit code.
#pragma once

#include "config/settings.hpp"

#include <cstdint>
#include <string>

namespace kiln {

/// `kiln devices`: the GPUs NVML finds, one line each; 1 with the reason when it finds none.
int list_gpus();

/// `kiln admin create-account`: writes an account with its first key directly to the store and
/// prints them. Fails with a clear message while a server holds the data directory.
int admin_create_account(const settings& config, const std::string& name, const std::string& plan,
                         std::int64_t credits);
/// `kiln admin grant`: adds credits to an account with their ledger entry, offline.
int admin_grant(const settings& config, const std::string& account_id, std::int64_t amount,
                const std::string& reason);
/// `kiln admin snapshot`: a consistent copy of the database into `to` (which must not exist).
int admin_snapshot(const settings& config, const std::string& to);
/// `kiln admin restore`: makes the snapshot in `from` the data directory's database; the
/// previous database is moved aside, not deleted.
int admin_restore(const settings& config, const std::string& from);
/// `kiln admin inspect`: prints the record under `key` in `family` (every key of the family
/// with `key` empty, up to `limit`), and whether it decodes: the way to look at a record that
/// stopped recovery.
int admin_inspect(const settings& config, const std::string& family, const std::string& key,
                  std::size_t limit);

}  // namespace kiln
