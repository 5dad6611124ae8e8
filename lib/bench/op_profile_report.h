#pragma once
// The `op_profile` section of a bench report: profile, tables, hints, the profiler's overhead
// and (optionally) a Chrome trace, for one sweep row.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "lib/bench/op_profile.h"
#include "lib/runtime/onnxruntime_runner.h"

namespace mopt {

/// Profiled iterations are capped: each keeps every op record in memory (ResNet-18: ~1,000).
inline constexpr int64_t kMaxProfiledIterations = 200;

/// What to profile and what the unprofiled run measured.
struct OpProfileRequest {
  int64_t iterations = 100;          ///< profiled calls (capped at kMaxProfiledIterations)
  double unprofiled_p50_ms = 0;      ///< the same row's p50 without the profiler
  int64_t macs = 0;                  ///< per inference, 0 when unknown
  std::filesystem::path trace_path;  ///< empty = no trace
};

/// Runs `call` under LibTorch's profiler and returns {"iterations", "overhead": {profiled_p50_ms,
/// unprofiled_p50_ms, ratio}, "op_total_ms", "marked_ms", "layers", "ops", "hints", "trace"?}.
nlohmann::json profile_ops(const std::function<void()>& call, const OpProfileRequest& request);

/// The same section from ONNX Runtime's session profile of the first row (OrtRequest::
/// profile_iterations); a trace path gets ORT's own Chrome trace.
nlohmann::json onnxruntime_op_profile(const OrtProfile& profile, const OpProfileRequest& request);

/// Tables, profiler overhead and hints from linked profiler records of either runtime.
nlohmann::json profile_from_events(const std::vector<ProfiledEvent>& events, const std::vector<double>& iteration_ms,
                                   const OpProfileRequest& request, const std::string& labelled_by);

}  // namespace mopt
