// A Kiln node: opens the store, recovers, starts the actors and the HTTP server, and shuts down
// cleanly on SIGINT/SIGTERM. Also the offline admin commands that work on the data directory.
#pragma once

#include "config/settings.hpp"

#include <cstdint>
#include <string>

namespace kiln {

/// `kiln devices`: the GPUs NVML finds, one line each; 1 with the reason when it finds none.
int list_gpus();

/// Runs the server until SIGINT or SIGTERM; returns the process exit code.
int run_node(const settings& config, const std::string& log_level);

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

}  // namespace kiln
