// A store for unit tests: opened with fsync durability in `dir`, or the test fails with the
// store's reason.
#pragma once

#include "models/error.hpp"
#include "persistence/store.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <string>

namespace kiln::test {

inline std::unique_ptr<store> open_store(const std::string& dir) {
  auto db = store::open(dir, durability_mode::fsync);
  INFO("open error: " << (db ? std::string() : describe(db.error())));
  REQUIRE(db);
  return std::move(*db);
}

}  // namespace kiln::test
