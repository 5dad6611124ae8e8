#pragma once
// ONNX Runtime's session profile (a Chrome trace: one "model_run" event per call and one
// "<node>_kernel_time" event per kernel) read as the profiler records `mopt bench --op-profile`
// summarizes for LibTorch, so both runtimes share the tables, hints and report section.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <vector>

#include "lib/bench/op_profile.h"

namespace mopt {

/// One iteration marker per model_run after the first `skip_runs` (the warm-up calls) and one op
/// event per kernel inside those runs: name = ORT's op type (after its fusions: "QLinearConv",
/// "FusedConv"), layer = the node's name, input shapes and dtypes from the trace. ORT's graph is
/// flat, so no op has a parent. A trace without model_run events gives no events.
std::vector<ProfiledEvent> events_from_ort_trace(const nlohmann::json& trace, int64_t skip_runs);

}  // namespace mopt
