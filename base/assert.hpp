// Assertions on invariants. A failed assertion is a bug, not an operating error: it logs the
// expression and where it failed, flushes the logs and aborts, so the supervisor restarts Kiln
// from what is on disk rather than letting it run on a state it does not understand.
//
// KILN_ASSERT is always on (cheap checks: a counter that must not go negative, a precondition of
// an undo). KILN_VERIFY runs expensive checks (a record decodes to what was encoded, a ledger's
// holds sum to its balance) only when verification is switched on: by KILN_VERIFY=1 in the
// environment, which the tests set, or by `set_verify(true)`.
#pragma once

namespace kiln::assertion {

/// Logs "assertion failed: EXPR at FILE:LINE" (and `detail` when given), then aborts.
[[noreturn]] void fail(const char* expression, const char* file, int line,
                       const char* detail = nullptr);

/// Whether expensive checks run (KILN_VERIFY=1 at start, or set_verify).
bool verify_enabled();
void set_verify(bool on);

}  // namespace kiln::assertion

#define KILN_ASSERT(condition)                                 \
  do {                                                         \
    if (!(condition)) [[unlikely]]                             \
      ::kiln::assertion::fail(#condition, __FILE__, __LINE__); \
  } while (false)

/// KILN_ASSERT with a short note saying what the condition protects.
#define KILN_ASSERT_MSG(condition, detail)                             \
  do {                                                                 \
    if (!(condition)) [[unlikely]]                                     \
      ::kiln::assertion::fail(#condition, __FILE__, __LINE__, detail); \
  } while (false)

/// An expensive check: evaluated only while verification is on.
#define KILN_VERIFY(condition)                                                 \
  do {                                                                         \
    if (::kiln::assertion::verify_enabled() && !(condition)) [[unlikely]]      \
      ::kiln::assertion::fail(#condition, __FILE__, __LINE__, "verification"); \
  } while (false)
