#pragma once
// `mopt bench --device cuda`: a model's steady state on a GPU, timed by CUDA events. Written
// against LibTorch's device-generic API (streams, events, graphs, the caching allocator's
// statistics); the CUDA libraries come in through lib/runtime/cuda.h.
#include <c10/core/Device.h>
#include <nlohmann/json.hpp>
#include <torch/script.h>

#include <functional>
#include <string>
#include <vector>

#include "lib/eval/on_device.h"
#include "lib/measure/timed_run.h"

namespace mopt {

/// How the GPU runs the model.
struct GpuSettings {
  c10::Device device{c10::kCUDA, 0};
  bool cuda_graph = false;      ///< --cuda-graph: capture one call after warm-up, time its replays
  bool tf32 = false;            ///< --tf32: TF32 tensor cores for fp32 matmuls and convolutions
  bool cudnn_benchmark = true;  ///< cuDNN tries its algorithms during warm-up and keeps the fastest
};

/// Applies the settings that are global to LibTorch (cuDNN autotuning, TF32).
void apply_gpu_settings(const GpuSettings& gpu);

/// One bench row on the GPU: {batch, device, latency and throughput (events around the call alone),
/// with_copies {latency, throughput} (host-to-device from pinned memory, the call, device-to-host, all
/// non-blocking on one stream), memory.gpu {peak_allocated_mb, peak_reserved_mb, total_mb}, cuda_graph,
/// samples_ms (each call's event time), gpu_utilization (lib/measure/gpu_monitor.h, over the timed calls)}.
/// A time-based stop rule judges the host's clock (launch and wait included); the samples are the events'.
nlohmann::json gpu_row(const Model& model, const std::vector<torch::Tensor>& host_inputs, int64_t batch,
                       const GpuSettings& gpu, int64_t warmup, const StopRule& stop,
                       const std::function<void(int64_t, double)>& progress);

}  // namespace mopt
