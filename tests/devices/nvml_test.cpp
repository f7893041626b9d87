// Tests for NVML discovery: the no-driver path, a fake libnvidia-ml (tests/support/fake_nvml.cpp,
// loaded through KILN_NVML_LIBRARY) with two GPUs and switchable failures, the real driver where
// this machine has one, and the text `describe` prints.
#include "devices/nvml.hpp"

#include <dlfcn.h>
#include <stdlib.h>  // setenv, unsetenv

#include <catch2/catch.hpp>
#include <optional>
#include <string>

namespace nvml = kiln::nvml;

namespace {

constexpr unsigned long long gib = 1ull << 30;

/// Sets (or with nullptr unsets) one environment variable for a scope, then restores it.
class scoped_env {
public:
  scoped_env(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) ::setenv(name, value, 1);
    else ::unsetenv(name);
  }
  ~scoped_env() {
    if (old_) ::setenv(name_, old_->c_str(), 1);
    else ::unsetenv(name_);
  }
  scoped_env(const scoped_env&) = delete;
  scoped_env& operator=(const scoped_env&) = delete;

private:
  const char* name_;
  std::optional<std::string> old_;
};

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// nvmlInit_v2 calls the fake has not yet seen shut down (its own export, not NVML's).
int fake_open_count() {
  void* handle = ::dlopen(KILN_FAKE_NVML, RTLD_NOW | RTLD_LOCAL);
  REQUIRE(handle != nullptr);
  auto count = reinterpret_cast<int (*)()>(::dlsym(handle, "fake_nvml_open_count"));
  REQUIRE(count != nullptr);
  int n = count();
  ::dlclose(handle);
  return n;
}

}  // namespace

TEST_CASE("nvml open without a driver names the library and the missing driver", "[nvml]") {
  const std::string path = "/nonexistent/kiln-nvml-test/libnvidia-ml.so.1";
  scoped_env library("KILN_NVML_LIBRARY", path.c_str());
  std::string error;
  CHECK(nvml::library::open(error) == nullptr);
  INFO(error);
  CHECK(error.starts_with("NVML not available: " + path + ": cannot open shared object file"));
  CHECK(error.ends_with("(is the NVIDIA driver installed?)"));
}

TEST_CASE("nvml open of a library without the NVML symbols says which is missing", "[nvml]") {
  scoped_env library("KILN_NVML_LIBRARY", "libm.so.6");
  std::string error;
  CHECK(nvml::library::open(error) == nullptr);
  INFO(error);
  CHECK(error.starts_with("NVML not usable: "));
  CHECK(contains(error, "nvmlInit_v2"));
}

TEST_CASE("nvml lists the two GPUs of the fake library", "[nvml]") {
  scoped_env library("KILN_NVML_LIBRARY", KILN_FAKE_NVML);
  std::string error = "stale";
  auto lib = nvml::library::open(error);
  REQUIRE(lib != nullptr);
  CHECK(error.empty());
  CHECK(lib->count() == 2);

  auto gpus = lib->list(error);
  CHECK(error.empty());
  REQUIRE(gpus.size() == 2);
  CHECK(gpus[0].index == 0);
  CHECK(gpus[0].name == "NVIDIA Fake H100 80GB HBM3");
  CHECK(gpus[0].uuid == "GPU-11111111-2222-3333-4444-555555555555");
  CHECK(gpus[0].memory_total_bytes == 80 * gib);
  CHECK(gpus[0].memory_used_bytes == 3 * gib);
  CHECK(gpus[0].utilization_percent == 7);
  CHECK(gpus[1].index == 1);
  CHECK(gpus[1].name == "NVIDIA Fake L4");
  CHECK(gpus[1].uuid == "GPU-66666666-7777-8888-9999-000000000000");
  CHECK(gpus[1].memory_total_bytes == 24 * gib);
  CHECK(gpus[1].memory_used_bytes == 6 * gib);
  CHECK(gpus[1].utilization_percent == 93);

  auto one = lib->query(1, error);
  REQUIRE(one.has_value());
  CHECK(error.empty());
  CHECK(one->uuid == gpus[1].uuid);
}

TEST_CASE("nvml open reports a failed nvmlInit_v2 with the text of nvmlErrorString", "[nvml]") {
  scoped_env library("KILN_NVML_LIBRARY", KILN_FAKE_NVML);
  scoped_env fail("FAKE_NVML_INIT_FAIL", "1");
  std::string error;
  CHECK(nvml::library::open(error) == nullptr);
  CHECK(error == std::string("NVML not available: nvmlInit_v2 in ") + KILN_FAKE_NVML +
                   " failed: Driver Not Loaded (NVML error 9)");
}

TEST_CASE("nvml query of an index past the last GPU fails with NVML's reason", "[nvml]") {
  scoped_env library("KILN_NVML_LIBRARY", KILN_FAKE_NVML);
  std::string error;
  auto lib = nvml::library::open(error);
  REQUIRE(lib != nullptr);
  CHECK_FALSE(lib->query(5, error).has_value());
  CHECK(error == "GPU 5: nvmlDeviceGetHandleByIndex_v2 failed: Invalid Argument (NVML error 2)");
}

TEST_CASE("nvml list leaves out a GPU it may not use and says why", "[nvml]") {
  scoped_env library("KILN_NVML_LIBRARY", KILN_FAKE_NVML);
  scoped_env deny("FAKE_NVML_DENY_INDEX", "0");
  std::string error;
  auto lib = nvml::library::open(error);
  REQUIRE(lib != nullptr);
  CHECK(lib->count() == 2);
  auto gpus = lib->list(error);
  REQUIRE(gpus.size() == 1);
  CHECK(gpus[0].index == 1);
  CHECK(error ==
        "GPU 0: nvmlDeviceGetHandleByIndex_v2 failed: Insufficient Permissions (NVML error 4)");
}

TEST_CASE("nvml reports zero utilization where the GPU cannot measure it", "[nvml]") {
  scoped_env library("KILN_NVML_LIBRARY", KILN_FAKE_NVML);
  scoped_env unsupported("FAKE_NVML_UTILIZATION_UNSUPPORTED", "1");
  std::string error;
  auto lib = nvml::library::open(error);
  REQUIRE(lib != nullptr);
  auto gpu = lib->query(1, error);
  REQUIRE(gpu.has_value());
  CHECK(error.empty());
  CHECK(gpu->utilization_percent == 0);
  CHECK(gpu->memory_total_bytes == 24 * gib);
}

TEST_CASE("nvml library calls nvmlShutdown once per open when destroyed", "[nvml]") {
  scoped_env library("KILN_NVML_LIBRARY", KILN_FAKE_NVML);
  const int before = fake_open_count();
  std::string error;
  {
    auto first = nvml::library::open(error);
    auto second = nvml::library::open(error);
    REQUIRE(first != nullptr);
    REQUIRE(second != nullptr);
    CHECK(fake_open_count() == before + 2);
    second.reset();
    CHECK(fake_open_count() == before + 1);
    CHECK(first->count() == 2);  // NVML stays up for the other holder
  }
  CHECK(fake_open_count() == before);
}

TEST_CASE("nvml finds at least one GPU through the real driver where there is one", "[nvml]") {
  scoped_env library("KILN_NVML_LIBRARY", nullptr);
  std::string error;
  auto lib = nvml::library::open(error);
  if (!lib) {
    WARN("skipped, no usable NVIDIA driver here: " << error);
    CHECK(error.starts_with("NVML not"));
    return;
  }
  auto gpus = lib->list(error);
  INFO(error);
  REQUIRE_FALSE(gpus.empty());
  for (const auto& gpu : gpus) {
    CHECK_FALSE(gpu.name.empty());
    CHECK(gpu.uuid.starts_with("GPU-"));
    CHECK(gpu.memory_total_bytes > 0);
    CHECK(gpu.memory_used_bytes <= gpu.memory_total_bytes);
    CHECK(gpu.utilization_percent <= 100);
  }
  WARN("real NVML:\n" << nvml::describe(gpus));
}

TEST_CASE("nvml describe prints one line per GPU", "[nvml]") {
  CHECK(nvml::describe({}).empty());
  std::vector<nvml::gpu> gpus(2);
  gpus[0] = {0, "NVIDIA H100 80GB HBM3", "GPU-aaaa", 80 * gib, 3 * gib + gib / 2, 7};
  gpus[1] = {1, "NVIDIA L4", "GPU-bbbb", 24 * gib - 300 * (1ull << 20), 0, 100};
  CHECK(nvml::describe(gpus) ==
        "GPU 0: NVIDIA H100 80GB HBM3 (GPU-aaaa), memory 3.5 of 80.0 GiB used, utilization 7%\n"
        "GPU 1: NVIDIA L4 (GPU-bbbb), memory 0.0 of 23.7 GiB used, utilization 100%\n");
}
