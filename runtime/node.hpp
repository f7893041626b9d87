// A Kiln node: opens the store, recovers, starts the actors and the HTTP server, and shuts down
// cleanly on SIGINT/SIGTERM. The offline commands are in runtime/admin.hpp.
#pragma once

#include "config/settings.hpp"

#include <string>

namespace kiln {

/// Runs the server until SIGINT or SIGTERM; returns the process exit code.
int run_node(const settings& config, const std::string& log_level);

}  // namespace kiln
