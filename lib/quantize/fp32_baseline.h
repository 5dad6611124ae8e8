#pragma once
// The fp32 side of every comparison `mopt quantize` makes for TorchScript output: the fastest of a
// few fp32 pipelines (frozen and optimized for inference, then channels-last variants), timed side
// by side in fresh processes. In NCHW, LibTorch's depthwise convolutions are slow, and INT8
// speedups were once reported against an fp32 file several times slower than the one channels-last
// gives (EfficientNet-B0 45.7 vs 15.3 ms, MobileNetV2 39.0 vs 9.3 ms at 1 thread).
#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

#include "lib/data/dataset.h"
#include "lib/eval/model_comparison.h"
#include "lib/model/model.h"
#include "lib/pipeline/pass_registry.h"

namespace mopt::quant {

struct Fp32Baseline {
  Model model;
  std::string pipeline;
  nlohmann::json measured = nlohmann::json::object();  ///< fresh-process p50 of each candidate timed, from its latest pairing
};

/// Runs `candidates` (pipeline texts; the first is the default) on `fp32` and returns the fastest
/// on `data`'s first row. Without timing (--no-latency) the first. A candidate whose passes beyond
/// the first candidate's rewrote nothing (channels-last on a model without convolutions) ends the
/// search untimed: it would run the same graph.
Fp32Baseline fastest_fp32_baseline(const Model& fp32, const std::vector<std::string>& candidates, const Dataset& data,
                                   const ComparisonSettings& comparison, const PassRegistry& registry,
                                   const std::function<void(const std::string&)>& log);

}  // namespace mopt::quant
