#pragma once
// `mopt optimize` as a library call: run any pass pipeline on a model (converting ONNX <-> TorchScript
// on the way when the output's format differs), then measure before/after where data was given.
#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "lib/data/dataset.h"
#include "lib/eval/model_comparison.h"
#include "lib/pipeline/pass_manager.h"
#include "lib/report/report.h"

namespace mopt::optimize {

struct OptimizeRequest {
  std::string model, output;
  Pipeline pipeline;  ///< validated; empty = convert only
  int64_t opset = 0;  ///< ONNX opset of an .onnx output exported from TorchScript
  /// Inputs to measure before/after on (nullopt: not measured); loaded after the model, before any pass.
  std::function<std::optional<Dataset>()> load_data;
  /// Calibration inputs for quantize-static (nullopt: none); loaded just before the passes run.
  std::function<std::optional<Dataset>()> load_calibration;
  ComparisonSettings comparison;
};

struct OptimizeOutcome {
  Model input;                      ///< as the passes saw it (an ONNX input imported for a .pt output)
  Model output;                     ///< as written
  std::vector<PassRecord> records;  ///< one per step
  nlohmann::json comparison;        ///< compare_models() of the input as given and the output; null when not measured
};

/// Runs the request, writes `request.output` and fills `report` (inputs, outputs, pipeline, metrics).
OptimizeOutcome run_optimize(const OptimizeRequest& request, const PassRegistry& registry, Report& report);

}  // namespace mopt::optimize
