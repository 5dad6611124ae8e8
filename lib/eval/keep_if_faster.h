#pragma once
// Runs a pipeline one pass at a time and keeps a pass only if the model is not slower after it,
// measured on the host in the same run (optimize_for_inference made a small transformer 3x
// slower here: an optimization must be measured, never assumed).
#include <nlohmann/json.hpp>

#include <functional>

#include "lib/data/dataset.h"
#include "lib/eval/model_comparison.h"
#include "lib/pipeline/pass_manager.h"

namespace mopt {

/// The model after the kept passes, their records, and a decision per step.
struct MeasuredPipelineResult {
  Model model;
  std::vector<PassRecord> kept;
  nlohmann::json decisions = nlohmann::json::array();  ///< {step, kept, speedup_p50, reason}
  std::string kept_pipeline;
};

/// A pass is dropped when the candidate is significantly slower (its median latency is above the
/// current one by more than `tolerance` and the 95% CIs of the two medians do not overlap) or when
/// its outputs no longer agree with the model before it (outputs_changed()).
MeasuredPipelineResult run_pipeline_keep_if_faster(const Model& input, const Pipeline& pipeline,
                                                   const PassRegistry& registry, const Dataset& data,
                                                   const ComparisonSettings& settings, double tolerance,
                                                   const std::function<void(const std::string&)>& log);

}  // namespace mopt
