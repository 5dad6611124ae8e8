#pragma once
#include <functional>
#include <string>
#include <vector>

#include "lib/pipeline/pipeline.h"

namespace mopt {

/// What one step of a pipeline did, for the report.
struct PassRecord {
  std::string name;
  std::string invocation;  ///< canonical step text, options included
  double seconds = 0;
  PassStats stats;
};

/// The transformed model and a record per step; the input model is never modified.
struct PipelineResult {
  Model model;
  std::vector<PassRecord> records;
};

/// Called before each step with (index, total, step text): for progress output.
using PassProgress = std::function<void(size_t, size_t, const std::string&)>;

/// Validates the pipeline, checks each pass supports the model's format and has the data it needs
/// in `context` (usage error otherwise), then runs the passes in order on a clone of `input`, timing each.
PipelineResult run_pipeline(const Model& input, const Pipeline& pipeline, const PassRegistry& registry,
                            const PassProgress& progress = {}, const PassContext& context = {});

}  // namespace mopt
