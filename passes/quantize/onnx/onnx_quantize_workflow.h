#pragma once
// `mopt quantize model.onnx -o model.int8.onnx` as a library call: plan the QDQ layout, calibrate
// through the importer, rewrite (returning the most sensitive nodes to fp32 one at a time while an
// accuracy target is not met, each trial executed by ORT), then measure what an ONNX Runtime user gets: ORT's own optimized
// graph (how many Conv/Gemm/MatMul it fused into INT8 kernels and how many stayed fp32), and
// latency, accuracy and agreement of the saved file against the fp32 input, both in ORT.
#include <nlohmann/json.hpp>
#include <onnx/onnx_pb.h>

#include <filesystem>
#include <functional>
#include <string>

#include "lib/data/dataset.h"
#include "lib/eval/model_comparison.h"
#include "passes/quantize/accuracy_target.h"
#include "passes/quantize/onnx/qdq_quantizer.h"

namespace mopt::onnx_quant {

/// What the user asked for.
struct OnnxQuantizeRequest {
  std::filesystem::path fp32_path;  ///< the user's model as given: the baseline ORT runs
  std::string mode = "static";      ///< "static" (calibrated QDQ) or "dynamic" (MatMulInteger, no calibration)
  QdqOptions options;
  std::string calibrator = "minmax";
  CalibratorOptions calibrator_options;
  Dataset calib;  ///< static mode: calibration inputs (labels unused)
  int64_t calib_batch = 32;
  Dataset eval;
  ComparisonSettings comparison;
  int threads = 1;
  quant::AccuracyTarget target;  ///< static mode: nodes return to fp32 one at a time until it is met
  int max_trials = 8;
};

/// The QDQ model and what was measured.
struct OnnxQuantizeOutcome {
  onnx::ModelProto model;
  nlohmann::json metrics;  ///< compare_onnx_files() of fp32 vs INT8, both in ORT
  nlohmann::json details;  ///< plan summary, calibration (samples, peak RSS), ORT fusion counts
  double speedup = 0;
  bool target_met = true;
};

/// Quantizes `prepared` (the fp32 model after graph clean-up: constants as initializers, BN folded).
OnnxQuantizeOutcome run_onnx_quantize(const onnx::ModelProto& prepared, const OnnxQuantizeRequest& request,
                                      const std::function<void(const std::string&)>& log);

/// Counts, in the graph ORT wrote after its optimizations, the INT8 kernels per source op type and
/// the Conv/Gemm/MatMul nodes left in fp32: {"Conv": {"int8": n, "fp32": m}, ..., "quantize_nodes": q}.
nlohmann::json count_ort_fusions(const onnx::ModelProto& optimized);

}  // namespace mopt::onnx_quant
