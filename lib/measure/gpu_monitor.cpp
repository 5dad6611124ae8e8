#include "lib/measure/gpu_monitor.h"

#include <dlfcn.h>
#include <fmt/format.h>

#include <algorithm>

namespace mopt {
using nlohmann::json;

namespace {

// NVML's C API, as far as the monitor uses it (nvml.h: handles are opaque pointers, results ints).
struct NvmlUtilization {
  unsigned gpu, memory;
};
constexpr int kNvmlClockSm = 1;

struct Nvml {
  void* library = nullptr;
  int (*init)() = nullptr;
  int (*handle_by_pci_bus_id)(const char*, void**) = nullptr;
  int (*utilization)(void*, NvmlUtilization*) = nullptr;
  int (*clock)(void*, int, unsigned*) = nullptr;
  int (*power)(void*, unsigned*) = nullptr;
};

// Loaded once per process; init is reference-counted by NVML and never shut down here (a bench
// process ends soon after).
const Nvml& nvml() {
  static const Nvml loaded = [] {
    Nvml n;
    n.library = dlopen("libnvidia-ml.so.1", RTLD_NOW);
    if (!n.library) return n;
    auto get = [&](auto& fn, const char* name) { fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(n.library, name)); };
    get(n.init, "nvmlInit_v2");
    get(n.handle_by_pci_bus_id, "nvmlDeviceGetHandleByPciBusId_v2");
    get(n.utilization, "nvmlDeviceGetUtilizationRates");
    get(n.clock, "nvmlDeviceGetClockInfo");
    get(n.power, "nvmlDeviceGetPowerUsage");
    if (!n.init || !n.handle_by_pci_bus_id || !n.utilization || n.init() != 0) n.library = nullptr;
    return n;
  }();
  return loaded;
}

double mean(const std::vector<double>& values) {
  if (values.empty()) return 0;
  double sum = 0;
  for (double v : values) sum += v;
  return sum / static_cast<double>(values.size());
}

}  // namespace

GpuMonitor::GpuMonitor(int cuda_index, double sample_ms) : sample_ms_(sample_ms) {
  const auto& n = nvml();
  if (!n.library) {
    unavailable_ = "NVML (libnvidia-ml.so.1, part of the NVIDIA driver) did not load";
    return;
  }
  // The CUDA runtime is in the process already (LibTorch's); its PCI bus id names the same device to NVML.
  auto bus_id = reinterpret_cast<int (*)(char*, int, int)>(dlsym(RTLD_DEFAULT, "cudaDeviceGetPCIBusId"));
  char pci[32] = {0};
  if (!bus_id || bus_id(pci, sizeof(pci), cuda_index) != 0 || n.handle_by_pci_bus_id(pci, &device_) != 0) {
    device_ = nullptr;
    unavailable_ = fmt::format("NVML does not know CUDA device {}", cuda_index);
  }
}

GpuMonitor::~GpuMonitor() { stop(); }

void GpuMonitor::sample() {
  const auto& n = nvml();
  NvmlUtilization utilization{};
  if (n.utilization(device_, &utilization) != 0) return;
  GpuSample s;
  s.gpu_percent = utilization.gpu;
  s.memory_percent = utilization.memory;
  unsigned value = 0;
  if (n.clock && n.clock(device_, kNvmlClockSm, &value) == 0) s.sm_clock_mhz = value;
  if (n.power && n.power(device_, &value) == 0) s.power_w = value / 1000.0;
  samples_.push_back(s);
}

void GpuMonitor::start() {
  if (!device_ || running_) return;
  running_ = true;
  sampler_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mutex_);
    const auto period = std::chrono::duration<double, std::milli>(sample_ms_);
    while (running_) {
      sample();
      wake_.wait_for(lock, period, [this] { return !running_; });
    }
  });
}

void GpuMonitor::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!running_) return;
    running_ = false;
    sample();  // the last period's reading, so even a short row has one
  }
  wake_.notify_all();
  sampler_.join();
}

json GpuMonitor::summary() const {
  if (samples_.empty()) {
    return {{"available", false}, {"reason", unavailable_.empty() ? "no reading succeeded" : unavailable_}};
  }
  std::vector<double> gpu, memory, clock, power;
  for (const auto& s : samples_) {
    gpu.push_back(s.gpu_percent), memory.push_back(s.memory_percent), clock.push_back(s.sm_clock_mhz), power.push_back(s.power_w);
  }
  return {{"available", true},
          {"samples", samples_.size()},
          {"sample_ms", sample_ms_},
          {"gpu_percent", {{"mean", mean(gpu)}, {"max", *std::max_element(gpu.begin(), gpu.end())}}},
          {"memory_percent", {{"mean", mean(memory)}}},
          {"sm_clock_mhz", {{"mean", mean(clock)}, {"min", *std::min_element(clock.begin(), clock.end())},
                            {"max", *std::max_element(clock.begin(), clock.end())}}},
          {"power_w", {{"mean", mean(power)}, {"max", *std::max_element(power.begin(), power.end())}}}};
}

}  // namespace mopt
