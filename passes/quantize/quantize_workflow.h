#pragma once
// `mopt quantize` as a library call: quantize, measure against the fp32 model (frozen and
// optimized, same run, same threads), and with an accuracy or SQNR target return the most
// sensitive layers to fp32 one at a time until the target is met or the trials run out.
#include <nlohmann/json.hpp>

#include <functional>
#include <string>

#include "lib/data/dataset.h"
#include "lib/eval/model_comparison.h"
#include "passes/quantize/accuracy_target.h"
#include "passes/quantize/static_quantizer.h"

namespace mopt::quant {

/// What the user asked for.
struct QuantizeRequest {
  std::string mode = "static";  ///< "static" or "dynamic"
  QuantConfig config;
  Dataset calib;                ///< static mode: calibration inputs (every forward() input)
  Dataset eval;                 ///< inputs (+ labels for accuracy)
  AccuracyTarget target;  ///< --max-accuracy-drop/--min-sqnr: fall back layer by layer
  int max_trials = 8;
  ComparisonSettings comparison;
};

/// The chosen model, its measurements and every trial.
struct QuantizeOutcome {
  Model model;
  nlohmann::json metrics;  ///< compare_models() of fp32 (optimized) vs the chosen model
  nlohmann::json details;  ///< mode, calibrator, per-layer table, fp32 layers, trials
  bool target_met = true;
  double speedup = 0;
};

/// Runs the workflow; `log` receives progress lines.
QuantizeOutcome run_quantize(const Model& fp32, const QuantizeRequest& request,
                             const std::function<void(const std::string&)>& log);

}  // namespace mopt::quant
