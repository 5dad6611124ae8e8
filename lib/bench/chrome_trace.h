#pragma once
// `mopt bench --trace FILE`: a Chrome trace (chrome://tracing, ui.perfetto.dev) of profiled
// iterations. Debian's LibTorch has no libkineto, so ProfilerResult::save cannot write one; this
// writer builds it from the same records, with the module hierarchy as nested spans.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <vector>

#include "lib/bench/op_profile.h"

namespace mopt {

/// Iterations a trace holds by default: enough to see the steady state, small enough to open.
inline constexpr int64_t kTraceIterations = 5;

/// {"traceEvents": [...], "displayTimeUnit": "ms", "otherData": {...}} for the first
/// `max_iterations` iterations: one complete ("ph":"X") event per iteration (cat "iteration"),
/// per op call (cat "cpu_op", args: module, input shapes, iteration), per TorchScript frame
/// (cat "torchscript") and per contiguous run of ops inside one module instance (cat "module").
/// A child is clipped to its parent's interval, as viewers require strict nesting on a thread.
nlohmann::json chrome_trace(const std::vector<ProfiledEvent>& events, int64_t max_iterations);

}  // namespace mopt
