#pragma once
// GPU utilization, SM clock and power sampled during a bench row on a GPU, read from NVIDIA's
// management library (libnvidia-ml.so.1, loaded at run time: mopt links no NVIDIA library, and a
// machine without the driver simply has no samples).
#include <nlohmann/json.hpp>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace mopt {

/// One reading of the device.
struct GpuSample {
  double gpu_percent = 0;     ///< share of the last sample period in which a kernel ran (NVML's utilization.gpu)
  double memory_percent = 0;  ///< share in which device memory was read or written
  double sm_clock_mhz = 0;
  double power_w = 0;
};

/// Samples CUDA device `cuda_index` (matched to NVML by PCI bus id, so CUDA_VISIBLE_DEVICES cannot
/// mix them up) every `sample_ms` between start() and stop().
class GpuMonitor {
 public:
  explicit GpuMonitor(int cuda_index, double sample_ms = 50);
  ~GpuMonitor();
  GpuMonitor(const GpuMonitor&) = delete;
  GpuMonitor& operator=(const GpuMonitor&) = delete;

  void start();
  void stop();

  /// {available, reason (when not), samples, sample_ms, gpu_percent {mean, max}, memory_percent
  /// {mean}, sm_clock_mhz {mean, min, max}, power_w {mean, max}}.
  nlohmann::json summary() const;

 private:
  void sample();
  double sample_ms_;
  void* device_ = nullptr;   ///< nvmlDevice_t; null when NVML or the device is unavailable
  std::string unavailable_;  ///< why there are no samples
  std::vector<GpuSample> samples_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool running_ = false;
  std::thread sampler_;
};

}  // namespace mopt
