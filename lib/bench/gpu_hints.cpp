#include "lib/bench/gpu_hints.h"

#include <fmt/format.h>

namespace mopt {
using nlohmann::json;

namespace {

void row_hints(const json& row, std::vector<Hint>& hints) {
  const auto batch = row["batch"].get<int64_t>();
  const double compute_ms = row["latency"]["p50_ms"].get<double>();
  const auto& utilization = row.value("gpu_utilization", json::object());
  if (utilization.value("available", false) && !row.value("cuda_graph", false)) {
    const double busy = utilization["gpu_percent"]["mean"].get<double>();
    if (busy < kGpuBusyFloorPercent) {
      hints.push_back({"launch-bound",
                       fmt::format("at batch {} kernels ran {:.0f}% of the time (NVML, {} samples): the GPU waits for the "
                                   "host to launch the next one; --cuda-graph replays the call without launches, and a "
                                   "larger batch gives each launch more work (--batch auto finds the best)",
                                   batch, busy, utilization["samples"].get<int64_t>()),
                       {{"batch", batch}, {"gpu_percent_mean", busy}}});
    }
  }
  if (row.contains("with_copies")) {
    const double with_copies_ms = row["with_copies"]["latency"]["p50_ms"].get<double>();
    const double share = with_copies_ms > 0 ? 1.0 - compute_ms / with_copies_ms : 0.0;
    if (share > kCopyShareCeiling) {
      hints.push_back({"copies",
                       fmt::format("at batch {} host-device copies take {:.0f}% of a call with copies ({:.3f} of {:.3f} ms, "
                                   "pinned memory and non-blocking already): keep inputs and outputs on the GPU between "
                                   "calls, or move preprocessing onto the GPU",
                                   batch, 100 * share, with_copies_ms - compute_ms, with_copies_ms),
                       {{"batch", batch}, {"copy_share", share}, {"p50_ms", compute_ms}, {"with_copies_p50_ms", with_copies_ms}}});
    }
  }
}

}  // namespace

std::vector<Hint> gpu_hints(const json& rows, bool float32_model, bool tf32) {
  std::vector<Hint> hints;
  for (const auto& row : rows) row_hints(row, hints);
  if (float32_model && !tf32) {
    hints.push_back({"fp32-compute",
                     "the model computes in float32, which leaves the tensor cores idle: `mopt quantize --mode fp16 "
                     "--device cuda` (or `mopt compile --profile datacenter-gpu`) writes an fp16 file; --tf32 measures "
                     "fp32 convolutions and matmuls on tensor cores without a new file",
                     {{"tf32", tf32}}});
  }
  return hints;
}

}  // namespace mopt
