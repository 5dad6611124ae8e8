#pragma once
// The quantized engine an INT8 TorchScript file runs fastest under on this host. LibTorch 2.x has
// three on x86-64 (x86, onednn, fbgemm), and no one is best for every model: ShuffleNetV2's INT8
// file ran 5.3x faster under onednn than x86, the Fashion-MNIST CNN's 1.13x slower
// (docs/benchmarks.md, "Quantized engine per model"). The choice is recorded in the artifact
// (mopt.json), which makes it active again when the file loads.
#include <nlohmann/json.hpp>

#include <functional>
#include <string>

#include "lib/data/dataset.h"
#include "lib/eval/model_comparison.h"
#include "lib/model/model.h"

namespace mopt::quant {

/// Another engine replaces the one in effect only when it is at least this much faster: below it
/// the run-to-run spread of fresh processes could flip the choice.
constexpr double kEngineAdvantage = 1.1;

struct EngineChoice {
  std::string engine;                              ///< the one to use
  nlohmann::json p50_ms = nlohmann::json::object();  ///< each engine timed: fresh-process p50
};

/// Times `int8` (saved as shipped) under each available engine of x86, onednn and fbgemm in fresh
/// processes, on the first row of `data`, and returns the fastest (the one in effect on a near tie).
EngineChoice fastest_engine(const Model& int8, const Dataset& data, const ComparisonSettings& comparison,
                            const std::function<void(const std::string&)>& log);

}  // namespace mopt::quant
