// NVML through dlopen/dlsym. The few NVML types and entry points used are declared here, after
// NVIDIA's nvml.h (NVML API reference, docs.nvidia.com/deploy/nvml-api), so no CUDA or driver
// headers are needed to build.
#include "devices/nvml.hpp"

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>

namespace kiln::nvml {

// Named, not anonymous: library::functions (external linkage) holds pointers to these types.
namespace abi {

using nvmlReturn_t = int;  // an enum in nvml.h; 0 is NVML_SUCCESS
struct nvmlDevice_st;      // opaque
using nvmlDevice_t = nvmlDevice_st*;
struct nvmlMemory_t {  // v1 layout, what nvmlDeviceGetMemoryInfo fills
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};
struct nvmlUtilization_t {
  unsigned int gpu;
  unsigned int memory;
};

constexpr nvmlReturn_t NVML_SUCCESS = 0;
constexpr nvmlReturn_t NVML_ERROR_NOT_SUPPORTED = 3;
constexpr unsigned int NVML_DEVICE_NAME_V2_BUFFER_SIZE = 96;
constexpr unsigned int NVML_DEVICE_UUID_V2_BUFFER_SIZE = 96;

}  // namespace abi

using namespace abi;

namespace {

constexpr const char* default_library = "libnvidia-ml.so.1";

std::string dl_error() {
  const char* text = ::dlerror();
  return text ? text : "unknown dlopen error";
}

}  // namespace

struct library::functions {
  nvmlReturn_t (*init)();
  nvmlReturn_t (*shutdown)();
  const char* (*error_string)(nvmlReturn_t);
  nvmlReturn_t (*get_count)(unsigned int*);
  nvmlReturn_t (*get_handle_by_index)(unsigned int, nvmlDevice_t*);
  nvmlReturn_t (*get_name)(nvmlDevice_t, char*, unsigned int);
  nvmlReturn_t (*get_uuid)(nvmlDevice_t, char*, unsigned int);
  nvmlReturn_t (*get_memory_info)(nvmlDevice_t, nvmlMemory_t*);
  nvmlReturn_t (*get_utilization_rates)(nvmlDevice_t, nvmlUtilization_t*);

  std::string describe(nvmlReturn_t code) const {
    const char* text = error_string(code);
    return std::string(text ? text : "unknown NVML error") + " (NVML error " +
           std::to_string(code) + ")";
  }
};

namespace {

template <class F>
bool resolve(void* handle, const char* symbol, F& out, std::string& error) {
  ::dlerror();
  void* address = ::dlsym(handle, symbol);
  if (!address) {
    error = "NVML not usable: " + dl_error() + " (is the NVIDIA driver too old?)";
    return false;
  }
  out = reinterpret_cast<F>(address);
  return true;
}

}  // namespace

library::library(void* handle, std::unique_ptr<functions> nvml)
  : handle_(handle), nvml_(std::move(nvml)) {}

library::~library() {
  nvml_->shutdown();
  ::dlclose(handle_);
}

std::unique_ptr<library> library::open(std::string& error) {
  const char* configured = std::getenv("KILN_NVML_LIBRARY");
  std::string path = configured && *configured ? configured : default_library;

  void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    // dlerror() names the file: "libnvidia-ml.so.1: cannot open shared object file: ..."
    error = "NVML not available: " + dl_error() + " (is the NVIDIA driver installed?)";
    return nullptr;
  }

  auto nvml = std::make_unique<functions>();
  bool resolved =
    resolve(handle, "nvmlInit_v2", nvml->init, error) &&
    resolve(handle, "nvmlShutdown", nvml->shutdown, error) &&
    resolve(handle, "nvmlErrorString", nvml->error_string, error) &&
    resolve(handle, "nvmlDeviceGetCount_v2", nvml->get_count, error) &&
    resolve(handle, "nvmlDeviceGetHandleByIndex_v2", nvml->get_handle_by_index, error) &&
    resolve(handle, "nvmlDeviceGetName", nvml->get_name, error) &&
    resolve(handle, "nvmlDeviceGetUUID", nvml->get_uuid, error) &&
    resolve(handle, "nvmlDeviceGetMemoryInfo", nvml->get_memory_info, error) &&
    resolve(handle, "nvmlDeviceGetUtilizationRates", nvml->get_utilization_rates, error);
  if (!resolved) {
    ::dlclose(handle);
    return nullptr;
  }

  if (nvmlReturn_t code = nvml->init(); code != NVML_SUCCESS) {
    error = "NVML not available: nvmlInit_v2 in " + path + " failed: " + nvml->describe(code);
    ::dlclose(handle);
    return nullptr;
  }
  error.clear();
  return std::unique_ptr<library>(new library(handle, std::move(nvml)));
}

std::uint32_t library::count() const {
  unsigned int n = 0;
  if (nvml_->get_count(&n) != NVML_SUCCESS) return 0;
  return n;
}

std::optional<gpu> library::query(std::uint32_t index, std::string& error) const {
  auto failed = [&](const char* call, nvmlReturn_t code) {
    error = "GPU " + std::to_string(index) + ": " + call + " failed: " + nvml_->describe(code);
    return std::nullopt;
  };

  nvmlDevice_t device = nullptr;
  if (auto code = nvml_->get_handle_by_index(index, &device); code != NVML_SUCCESS)
    return failed("nvmlDeviceGetHandleByIndex_v2", code);

  gpu out;
  out.index = index;

  char name[NVML_DEVICE_NAME_V2_BUFFER_SIZE] = {};
  if (auto code = nvml_->get_name(device, name, sizeof name); code != NVML_SUCCESS)
    return failed("nvmlDeviceGetName", code);
  out.name = name;

  char uuid[NVML_DEVICE_UUID_V2_BUFFER_SIZE] = {};
  if (auto code = nvml_->get_uuid(device, uuid, sizeof uuid); code != NVML_SUCCESS)
    return failed("nvmlDeviceGetUUID", code);
  out.uuid = uuid;

  nvmlMemory_t memory{};
  if (auto code = nvml_->get_memory_info(device, &memory); code != NVML_SUCCESS)
    return failed("nvmlDeviceGetMemoryInfo", code);
  out.memory_total_bytes = memory.total;
  out.memory_used_bytes = memory.used;

  // MIG-enabled GPUs do not report utilization; the GPU is still usable, so report 0.
  nvmlUtilization_t utilization{};
  auto code = nvml_->get_utilization_rates(device, &utilization);
  if (code == NVML_SUCCESS) out.utilization_percent = utilization.gpu;
  else if (code != NVML_ERROR_NOT_SUPPORTED) return failed("nvmlDeviceGetUtilizationRates", code);

  error.clear();
  return out;
}

std::vector<gpu> library::list(std::string& error) const {
  error.clear();
  std::vector<gpu> gpus;
  unsigned int n = 0;
  if (auto code = nvml_->get_count(&n); code != NVML_SUCCESS) {
    error = "nvmlDeviceGetCount_v2 failed: " + nvml_->describe(code);
    return gpus;
  }
  std::string failure;
  for (std::uint32_t index = 0; index < n; ++index) {
    if (auto found = query(index, failure)) gpus.push_back(std::move(*found));
    else if (error.empty()) error = failure;
  }
  return gpus;
}

std::string describe(const std::vector<gpu>& gpus) {
  constexpr double gib = 1024.0 * 1024.0 * 1024.0;
  std::string out;
  for (const auto& g : gpus) {
    char memory[64];
    std::snprintf(memory, sizeof memory, "%.1f of %.1f GiB",
                  static_cast<double>(g.memory_used_bytes) / gib,
                  static_cast<double>(g.memory_total_bytes) / gib);
    out += "GPU " + std::to_string(g.index) + ": " + g.name + " (" + g.uuid + "), memory " +
           memory + " used, utilization " + std::to_string(g.utilization_percent) + "%\n";
  }
  return out;
}

}  // namespace kiln::nvml
