#pragma once
// `mopt quantize` as a library call: a preset pass pipeline (passes/quantize/quantize_preset.h
// builds it, since lib/ names no pass; `--print-pipeline` prints it) plus what a pass cannot do:
// measure the result against fp32 in the runtime it will run in and, with an accuracy or SQNR
// target, return the most sensitive layer (ONNX: node) to fp32 one trial at a time.
//   TorchScript output: measured in LibTorch against the fastest fp32 baseline (fp32_baseline.h);
//     an .onnx input is imported, and the result is also measured against the input in ONNX Runtime.
//   ONNX output (QDQ or dynamic INT8): measured in ONNX Runtime against the fp32 .onnx, with ORT's
//     own optimized graph counted (ort_fusions.h); a TorchScript input is exported to fp32 ONNX first.
// The CLI turns flags into a QuantizeRequest and prints the QuantizeOutcome.
#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

#include "lib/data/dataset.h"
#include "lib/eval/model_comparison.h"
#include "lib/pipeline/pass_registry.h"
#include "lib/pipeline/pipeline.h"
#include "lib/quantize/accuracy_target.h"
#include "lib/report/report.h"

namespace mopt::quant {

/// What the user asked for.
struct QuantizeRequest {
  std::string model, output;    ///< an .onnx output is quantized and measured as ONNX
  std::string mode = "static";  ///< static, dynamic, fp16, bf16 or bf16-compute: how the result is named
  Pipeline pipeline;            ///< the passes that quantize (`mopt quantize --print-pipeline`)
  /// TorchScript output: fp32 pipelines to measure against, the first the default; the fastest wins.
  std::vector<std::string> fp32_baselines;
  bool on_baseline = false;  ///< run `pipeline` on the chosen fp32 baseline, not on the input (bf16-compute)
  /// Fills calib, eval and eval_flag; called once the model has loaded (a model that does not load
  /// is reported before data that does not). May be empty when they are filled already.
  std::function<void(QuantizeRequest&)> load_data;
  Dataset calib;             ///< calibration inputs, read by a pass that needs them (may be empty)
  Dataset eval;              ///< what the result is compared with fp32 on (with labels: accuracy too)
  std::string eval_flag = "--eval-data";  ///< where `eval` came from, for the error when the model does not run on it
  AccuracyTarget target;     ///< --max-accuracy-drop/--min-sqnr: fall back layer by layer
  int max_trials = 8;
  ComparisonSettings comparison;
  bool require_speedup = false;  ///< a result no faster than fp32 is not written (exit 3)
  bool allow_slower = false;     ///< write a result slower than fp32 (otherwise exit 3; fp16/bf16 storage always is)
  bool speed_fallback = true;    ///< QDQ: input-edge nodes ORT's op profile shows slower in INT8 tried in fp32 (timed runs only)
  bool force = false;            ///< --force: the output may replace the input
};

/// The chosen result and what was measured.
struct QuantizeOutcome {
  Model model;
  nlohmann::json metrics;  ///< compare_files() of fp32 vs the result
  nlohmann::json details;  ///< the report's details.quantization: per-layer table, fp32 layers, trials, ...
  bool target_met = true;
  double speedup = 0;      ///< fp32 p50 / result p50; 0 under --no-latency
  bool onnx_output = false;
  /// TorchScript output of an .onnx input: compare_files() of the input in ONNX Runtime vs the
  /// result in LibTorch (what the input's users run today); null otherwise.
  nlohmann::json vs_input_as_given;
};

/// Quantizes request.model, fills `report` (input, pipeline, metrics, details.quantization), shows
/// the outcome through `present`, then enforces the gates (an accuracy target not met, a result
/// slower than fp32 without allow_slower, or require_speedup and no speedup: exit 3, nothing
/// written) and writes request.output atomically.
QuantizeOutcome run_quantize(const QuantizeRequest& request, const PassRegistry& registry, Report& report,
                             const std::function<void(const QuantizeOutcome&)>& present);

/// The gates run_quantize() applies to a measured outcome, each recorded in `report`: throws
/// Error(kGateFailed) naming every one that failed. `speedup` is the smallest measured against an
/// fp32 file the user has (the fp32 baseline, and an .onnx input in ONNX Runtime).
void enforce_quantize_gates(const QuantizeRequest& request, const QuantizeOutcome& outcome, double speedup, Report& report);

}  // namespace mopt::quant
