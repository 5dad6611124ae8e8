#pragma once
// The pass pipelines `mopt quantize` runs: what its flags mean as passes. lib/quantize runs them
// (it names no pass); `mopt quantize --print-pipeline` prints the first, and `mopt optimize -p`
// with the same calibration data writes the same model.
#include <cstdint>
#include <string>
#include <vector>

#include "lib/pipeline/pipeline.h"

namespace mopt {

/// The flags of `mopt quantize` that choose passes and their options.
struct QuantizeSettings {
  std::string mode = "static";  ///< static, dynamic, fp16, bf16 or bf16-compute
  std::string calibrator = "minmax";
  double percentile = 99.99;
  int64_t calib_batch = 32;
  bool per_channel = true;
  bool symmetric_activations = false;
  std::vector<std::string> skip;  ///< --skip globs
  std::string reduce_range = "auto";  ///< ONNX output: 7-bit weights (auto: where this CPU has no VNNI), on, off
  bool onnx_output = false;       ///< -o MODEL.onnx: the ONNX clean-up passes first, INT8 modes only
  bool gpu = false;               ///< --device cuda: fp16/bf16 compute in half precision (INT8 is the CPU's)
};

/// The pipeline that quantizes; usage_error for a mode that has no pass for the output format.
Pipeline quantize_pipeline(const QuantizeSettings& settings);

/// Whether the mode's pipeline runs on the fastest fp32 baseline instead of the input (bf16-compute,
/// and fp16/bf16 on a GPU: it computes in half precision what the baseline computes in float32).
bool quantizes_fp32_baseline(const QuantizeSettings& settings);

/// The fp32 pipelines TorchScript output is measured against, the default first. CPU: frozen and
/// optimized for inference, the same with channels-last conv weights, and channels-last without
/// optimize-for-inference (compile --keep-if-faster drops it for MobileNetV3-small and EfficientNet-B0).
/// GPU: BatchNorm folded and frozen, in the default layout and channels-last (no oneDNN: it is the CPU's).
const std::vector<std::string>& fp32_baseline_pipelines(bool gpu = false);

}  // namespace mopt
