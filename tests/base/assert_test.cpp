// KILN_ASSERT aborts with the expression and where it failed; KILN_VERIFY runs only while
// verification is on.
#include <catch2/catch.hpp>

#include "base/assert.hpp"
#include "tests/support/death.hpp"

using kiln::test::run_to_death;

TEST_CASE("a failed KILN_ASSERT aborts and names the expression and its place", "[base]") {
  auto died = run_to_death([] {
    int slots = 0;
    KILN_ASSERT_MSG(slots > 0, "a released slot was busy");
  });
  CHECK(died.aborted);
  CHECK(died.stderr_text.find("assertion failed: slots > 0") != std::string::npos);
  CHECK(died.stderr_text.find("assert_test.cpp") != std::string::npos);
  CHECK(died.stderr_text.find("a released slot was busy") != std::string::npos);
  CHECK_FALSE(run_to_death([] { KILN_ASSERT(1 + 1 == 2); }).aborted);
}

TEST_CASE("KILN_VERIFY checks only while verification is on", "[base]") {
  auto verified = [](bool on) {
    return run_to_death([on] {
      kiln::assertion::set_verify(on);
      int evaluated = 0;
      KILN_VERIFY(++evaluated == 0);
    });
  };
  CHECK_FALSE(verified(false).aborted);
  auto died = verified(true);
  CHECK(died.aborted);
  CHECK(died.stderr_text.find("verification") != std::string::npos);
}
