// Fault injection that operators and tests can change while the server runs
// (GET|PUT /admin/v1/faults): the probabilities that a device run fails, that a device crashes,
// and that a webhook attempt is lost, and a number of store reads to fail. Starts from the
// `faults.*` settings.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

namespace kiln {

struct runtime_faults {
  std::atomic<double> device_fail_rate{0.0};
  std::atomic<double> device_crash_rate{0.0};
  std::atomic<double> webhook_drop_rate{0.0};
  /// Store reads (point reads and scans) still to fail, as if the disk failed them.
  std::atomic<std::uint32_t> store_read_failures{0};
};

using faults_ptr = std::shared_ptr<runtime_faults>;

}  // namespace kiln
