#pragma once
// `mopt bench --device cuda --op-profile/--trace`: the CUDA kernels and copies a call runs, from
// Kineto's CUDA activities (CUPTI, which LibTorch's CUDA build carries), with how much of each call
// the GPU was busy: the kernel-level view the CPU op profile cannot give of a GPU run.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace mopt {

/// One GPU activity (kernel, copy or memset) as the profiler recorded it.
struct GpuActivity {
  std::string name;
  double start_us = 0;
  double duration_us = 0;
  int64_t stream = 0;
  std::string launched_by;  ///< the LibTorch op whose call launched it ("aten::cudnn_convolution"); empty if unknown
};

/// Summary of profiled calls: {iterations, wall_ms_per_call, gpu_ms_per_call (kernels and copies,
/// overlaps counted once), gpu_busy_share, launches_per_call, kernels: [{name, calls, total_ms,
/// share, mean_us}] by total time, by_op: [{op, launches_per_call, gpu_ms_per_call, share}] (the GPU
/// time each LibTorch op launched, "(unattributed)" for the rest), hints: [{kind, message, figures}]}: "launch-bound" below
/// kGpuBusyFloorPercent (lib/bench/gpu_hints.h), the same threshold NVML's readings are judged by.
nlohmann::json gpu_kernel_summary(const std::vector<GpuActivity>& activities, const std::vector<double>& call_ms);

/// Runs `call` (it must wait for the GPU before it returns) `iterations` times under LibTorch's
/// profiler with CPU and CUDA activities and returns gpu_kernel_summary() of them; with a trace
/// path, also writes a Chrome/Perfetto trace (CPU ops and GPU activities, one track per stream) and
/// adds {"trace": {path}}. Throws runtime_failure when the profiler cannot be started.
nlohmann::json profile_gpu_kernels(const std::function<void()>& call, int64_t iterations,
                                   const std::filesystem::path& trace_path);

}  // namespace mopt
