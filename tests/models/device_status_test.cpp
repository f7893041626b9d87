// The circuit breaker's device states as a table.
#include <catch2/catch.hpp>

#include "models/device_status.hpp"

using kiln::device_status;

TEST_CASE("the breaker moves a device only along its designed edges", "[models]") {
  using s = device_status;
  struct edge {
    s from, to;
    bool allowed;
  };
  const edge table[] = {
    {s::up, s::up, true},           {s::up, s::down, true},      {s::up, s::probing, false},
    {s::down, s::down, true},       {s::down, s::probing, true}, {s::down, s::up, true},
    {s::probing, s::probing, true}, {s::probing, s::up, true},   {s::probing, s::down, true},
  };
  for (const auto& e : table) {
    INFO(kiln::device_status_name(e.from) << " -> " << kiln::device_status_name(e.to));
    CHECK(kiln::device_status_allows(e.from, e.to) == e.allowed);
  }
  CHECK(kiln::device_status_name(s::probing) == "probing");
}
