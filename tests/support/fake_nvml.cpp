// A stand-in for libnvidia-ml.so.1, built as its own shared library (target fake_nvml) and loaded
// by the NVML tests through KILN_NVML_LIBRARY. It exports the NVML symbols runtime/nvml.cpp uses
// and reports two fixed GPUs. Environment variables, read at each call, steer it into failures:
//   FAKE_NVML_INIT_FAIL=1              nvmlInit_v2 answers NVML_ERROR_DRIVER_NOT_LOADED
//   FAKE_NVML_DENY_INDEX=<i>           nvmlDeviceGetHandleByIndex_v2(i) answers
//   NVML_ERROR_NO_PERMISSION FAKE_NVML_UTILIZATION_UNSUPPORTED=1 nvmlDeviceGetUtilizationRates
//   answers NVML_ERROR_NOT_SUPPORTED
// fake_nvml_open_count() (not an NVML symbol) tells how many nvmlInit_v2 calls are not yet shut
// down. Kept out of kiln_tests' own sources by a filter in CMakeLists.txt.
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>

// Layouts and values as in NVIDIA's nvml.h.
struct nvmlDevice_st {
  const char* name;
  const char* uuid;
  unsigned long long memory_total;
  unsigned long long memory_used;
  unsigned int utilization_gpu;
  unsigned int utilization_memory;
};
using nvmlDevice_t = nvmlDevice_st*;
struct nvmlMemory_t {
  unsigned long long total;
  unsigned long long free;
  unsigned long long used;
};
struct nvmlUtilization_t {
  unsigned int gpu;
  unsigned int memory;
};

namespace {

constexpr int NVML_SUCCESS = 0;
constexpr int NVML_ERROR_UNINITIALIZED = 1;
constexpr int NVML_ERROR_INVALID_ARGUMENT = 2;
constexpr int NVML_ERROR_NOT_SUPPORTED = 3;
constexpr int NVML_ERROR_NO_PERMISSION = 4;
constexpr int NVML_ERROR_INSUFFICIENT_SIZE = 7;
constexpr int NVML_ERROR_DRIVER_NOT_LOADED = 9;

constexpr unsigned long long gib = 1ull << 30;

nvmlDevice_st devices[] = {
  {"NVIDIA Fake H100 80GB HBM3", "GPU-11111111-2222-3333-4444-555555555555", 80 * gib, 3 * gib, 7,
   2},
  {"NVIDIA Fake L4", "GPU-66666666-7777-8888-9999-000000000000", 24 * gib, 6 * gib, 93, 40},
};
constexpr unsigned int device_count = sizeof devices / sizeof devices[0];

std::atomic<int> open_count{0};

bool env_set(const char* name) {
  const char* value = std::getenv(name);
  return value && std::strcmp(value, "1") == 0;
}

bool valid(nvmlDevice_t device) {
  for (auto& d : devices)
    if (device == &d) return true;
  return false;
}

int copy_text(const char* text, char* out, unsigned int length) {
  if (!out) return NVML_ERROR_INVALID_ARGUMENT;
  if (std::strlen(text) + 1 > length) return NVML_ERROR_INSUFFICIENT_SIZE;
  std::memcpy(out, text, std::strlen(text) + 1);
  return NVML_SUCCESS;
}

}  // namespace

#define FAKE_NVML_EXPORT extern "C" __attribute__((visibility("default")))

FAKE_NVML_EXPORT int nvmlInit_v2() {
  if (env_set("FAKE_NVML_INIT_FAIL")) return NVML_ERROR_DRIVER_NOT_LOADED;
  ++open_count;
  return NVML_SUCCESS;
}

FAKE_NVML_EXPORT int nvmlShutdown() {
  if (open_count.load() == 0) return NVML_ERROR_UNINITIALIZED;
  --open_count;
  return NVML_SUCCESS;
}

FAKE_NVML_EXPORT const char* nvmlErrorString(int result) {
  switch (result) {
    case NVML_SUCCESS:
      return "Success";
    case NVML_ERROR_UNINITIALIZED:
      return "Uninitialized";
    case NVML_ERROR_INVALID_ARGUMENT:
      return "Invalid Argument";
    case NVML_ERROR_NOT_SUPPORTED:
      return "Not Supported";
    case NVML_ERROR_NO_PERMISSION:
      return "Insufficient Permissions";
    case NVML_ERROR_INSUFFICIENT_SIZE:
      return "Insufficient Size";
    case NVML_ERROR_DRIVER_NOT_LOADED:
      return "Driver Not Loaded";
    default:
      return "Unknown Error";
  }
}

FAKE_NVML_EXPORT int nvmlDeviceGetCount_v2(unsigned int* count) {
  if (open_count.load() == 0) return NVML_ERROR_UNINITIALIZED;
  if (!count) return NVML_ERROR_INVALID_ARGUMENT;
  *count = device_count;
  return NVML_SUCCESS;
}

FAKE_NVML_EXPORT int nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t* device) {
  if (open_count.load() == 0) return NVML_ERROR_UNINITIALIZED;
  if (!device || index >= device_count) return NVML_ERROR_INVALID_ARGUMENT;
  if (const char* deny = std::getenv("FAKE_NVML_DENY_INDEX"); deny && std::to_string(index) == deny)
    return NVML_ERROR_NO_PERMISSION;
  *device = &devices[index];
  return NVML_SUCCESS;
}

FAKE_NVML_EXPORT int nvmlDeviceGetName(nvmlDevice_t device, char* name, unsigned int length) {
  if (open_count.load() == 0) return NVML_ERROR_UNINITIALIZED;
  if (!valid(device)) return NVML_ERROR_INVALID_ARGUMENT;
  return copy_text(device->name, name, length);
}

FAKE_NVML_EXPORT int nvmlDeviceGetUUID(nvmlDevice_t device, char* uuid, unsigned int length) {
  if (open_count.load() == 0) return NVML_ERROR_UNINITIALIZED;
  if (!valid(device)) return NVML_ERROR_INVALID_ARGUMENT;
  return copy_text(device->uuid, uuid, length);
}

FAKE_NVML_EXPORT int nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t* memory) {
  if (open_count.load() == 0) return NVML_ERROR_UNINITIALIZED;
  if (!valid(device) || !memory) return NVML_ERROR_INVALID_ARGUMENT;
  memory->total = device->memory_total;
  memory->used = device->memory_used;
  memory->free = device->memory_total - device->memory_used;
  return NVML_SUCCESS;
}

FAKE_NVML_EXPORT int nvmlDeviceGetUtilizationRates(nvmlDevice_t device,
                                                   nvmlUtilization_t* utilization) {
  if (open_count.load() == 0) return NVML_ERROR_UNINITIALIZED;
  if (!valid(device) || !utilization) return NVML_ERROR_INVALID_ARGUMENT;
  if (env_set("FAKE_NVML_UTILIZATION_UNSUPPORTED")) return NVML_ERROR_NOT_SUPPORTED;
  utilization->gpu = device->utilization_gpu;
  utilization->memory = device->utilization_memory;
  return NVML_SUCCESS;
}

FAKE_NVML_EXPORT int fake_nvml_open_count() { return open_count.load(); }
