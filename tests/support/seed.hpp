// The seed of a randomized test: KILN_TEST_SEED when set, else a fresh one, printed either way
// so that a failing run can be replayed.
#pragma once

#include <cstdint>

namespace kiln::test {

/// Prints "<test_name>: seed N (KILN_TEST_SEED=N repeats it)" to stderr and returns N.
std::uint64_t test_seed(const char* test_name);

}  // namespace kiln::test
