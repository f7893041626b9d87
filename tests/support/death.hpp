// Death tests: runs code that must abort (a failed KILN_ASSERT) in a forked child, so the test
// process survives to check how it died and what it said.
#pragma once

#include <functional>
#include <string>

namespace kiln::test {

struct death {
  bool aborted = false;  ///< the child ended by SIGABRT
  std::string stderr_text;
};

/// Runs `body` in a forked child with stderr captured; the child exits 0 if `body` returns.
death run_to_death(const std::function<void()>& body);

}  // namespace kiln::test
