// Seeds of randomized tests; see the header.
#include "tests/support/seed.hpp"

#include <cstdio>
#include <cstdlib>
#include <random>

namespace kiln::test {

std::uint64_t test_seed(const char* test_name) {
  std::uint64_t seed = 0;
  if (const char* text = std::getenv("KILN_TEST_SEED"); text && *text)
    seed = std::strtoull(text, nullptr, 10);
  else seed = std::random_device{}() * 0x100000000ull + std::random_device{}();
  std::fprintf(stderr, "%s: seed %llu (KILN_TEST_SEED=%llu repeats it)\n", test_name,
               static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed));
  return seed;
}

}  // namespace kiln::test
