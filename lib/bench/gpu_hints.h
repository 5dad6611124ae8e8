#pragma once
// Bottleneck hints of `mopt bench --device cuda`: from each GPU row's own figures (NVML's
// utilization, the call timed with and without its copies) and the model's precision, each with
// the evidence behind it.
#include <nlohmann/json.hpp>

#include <vector>

#include "lib/bench/bottleneck_hints.h"

namespace mopt {

/// Below this mean utilization the GPU waited between kernels most of the time.
constexpr double kGpuBusyFloorPercent = 60;
/// Above this share of a call with copies, the host-device copies cost more than the model.
constexpr double kCopyShareCeiling = 0.5;

/// Hints for a run's GPU rows: per row "launch-bound" (kernels ran under kGpuBusyFloorPercent of the
/// time, without --cuda-graph) and "copies" (host-device copies over kCopyShareCeiling of the call
/// with copies); once, "fp32-compute" (the model computes in float32 without TF32: tensor cores idle).
std::vector<Hint> gpu_hints(const nlohmann::json& rows, bool float32_model, bool tf32);

}  // namespace mopt
