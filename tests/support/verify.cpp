// Every test runs with the expensive assertion checks on (base/assert.hpp): records are decoded
// again as they are encoded, ledgers re-sum their holds. Servers started by the end-to-end tests
// get KILN_VERIFY=1 in their environment (tests/support/kiln_process.cpp).
#include "base/assert.hpp"

namespace {
const bool verification_on = (kiln::assertion::set_verify(true), true);
}  // namespace
