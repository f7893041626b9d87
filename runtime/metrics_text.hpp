// GET /metrics: the store's, the HTTP server's and the process-wide counters as Prometheus text.
#pragma once

#include <cstddef>
#include <string>

namespace kiln {

class store;

std::string metrics_text(const store& db, std::size_t http_in_flight);

}  // namespace kiln
