// NVIDIA GPU discovery for `"devices": "auto"`: NVML (libnvidia-ml) is dlopen()ed at run time, so
// the binary has no link-time dependency on the driver and, where none is installed, says so.
// Nothing is cached: every query asks the driver for fresh figures.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace kiln::nvml {

struct gpu {
  std::uint32_t index = 0;  // NVML's index; need not match CUDA's device order
  std::string name;         // "NVIDIA H100 80GB HBM3"
  std::string uuid;         // "GPU-" and an RFC 4122 UUID, stable across reboots
  std::uint64_t memory_total_bytes = 0;
  std::uint64_t memory_used_bytes = 0;
  std::uint32_t utilization_percent = 0;  // gpu core, 0..100; 0 where the GPU cannot say (MIG)
};

/// One loaded and initialised NVML. Queries may come from any thread (NVML is thread-safe).
class library {
public:
  /// dlopen()s the NVML library (KILN_NVML_LIBRARY if set, else "libnvidia-ml.so.1"), resolves
  /// the symbols it needs and calls nvmlInit_v2. nullptr and a clear `error` when any step
  /// fails, e.g. "NVML not available: libnvidia-ml.so.1: cannot open shared object file: No such
  /// file or directory (is the NVIDIA driver installed?)".
  static std::unique_ptr<library> open(std::string& error);
  ~library();  // nvmlShutdown + dlclose
  library(const library&) = delete;
  library& operator=(const library&) = delete;

  /// GPUs NVML reports, including any it then denies access to; 0 if it cannot count them.
  std::uint32_t count() const;
  /// Fresh name, uuid, memory and utilization of GPU `index`; nullopt + error on failure.
  std::optional<gpu> query(std::uint32_t index, std::string& error) const;
  /// Every GPU that answers. `error` is empty when all did, else it names the first that did not
  /// (NVML counts GPUs this process has no permission to use); those are left out.
  std::vector<gpu> list(std::string& error) const;

private:
  struct functions;  // resolved NVML entry points (nvml.cpp)
  library(void* handle, std::unique_ptr<functions> nvml);
  void* handle_;
  std::unique_ptr<functions> nvml_;
};

/// One human-readable line per GPU, each ending in '\n'; empty for no GPUs:
/// "GPU 0: NVIDIA H100 80GB HBM3 (GPU-...), memory 3.0 of 80.0 GiB used, utilization 7%"
std::string describe(const std::vector<gpu>& gpus);

}  // namespace kiln::nvml
