#pragma once
// The `op_profile` section of a bench report: profile, tables, hints, the profiler's overhead
// and (optionally) a Chrome trace, for one sweep row.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <filesystem>
#include <functional>

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

/// Runs `call` under the profiler and returns {"iterations", "overhead": {profiled_p50_ms,
/// unprofiled_p50_ms, ratio}, "op_total_ms", "marked_ms", "layers", "ops", "hints", "trace"?}.
nlohmann::json profile_ops(const std::function<void()>& call, const OpProfileRequest& request);

}  // namespace mopt
