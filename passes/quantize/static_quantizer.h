#pragma once
// Post-training INT8 quantization of TorchScript modules through LibTorch's JIT passes:
// static = fold-conv-bn -> InsertObservers -> calibration -> InsertQuantDeQuant -> Finalize;
// dynamic = the same without calibration (activations quantized at run time).
#include <nlohmann/json.hpp>

#include <functional>
#include <string>
#include <vector>

#include "calibration/calibrator.h"
#include "calibration/qparams.h"
#include "lib/data/dataset.h"
#include "lib/model/model.h"

namespace mopt::quant {

/// How to quantize.
struct QuantConfig {
  std::string calibrator = "minmax";
  CalibratorOptions calibrator_options;
  bool per_channel = true;
  bool symmetric_activations = false;     ///< zero point fixed at 128 instead of fitted to the range
  std::vector<std::string> skip_modules;  ///< exact module paths kept in fp32 ("features.0")
  int64_t calib_batch = 32;
  int64_t error_samples = 512;            ///< calibration rows used for the per-layer error pass
  /// Evaluation data for the calibrator check (calibrator_verdict.h): every calibrator watches the
  /// calibration batches and each one's INT8 model runs on its first samples. Null: no check.
  const Dataset* check_data = nullptr;
};

/// One observed activation: where it is, the range chosen and the error quantizing it costs.
struct ActivationRecord {
  int64_t id = 0;
  std::string layer;  ///< module path or op that produces the value
  Range range;
  QuantParams qparams{1.0, 0};
  double sqnr_db = 0;
  double cosine = 1;
};

/// A quantized model plus what calibration saw.
struct QuantResult {
  Model model;
  std::vector<ActivationRecord> activations;
  int64_t calibration_samples = 0;
  double calibration_peak_rss_mb = 0;
  int64_t silu_decomposed = 0;  ///< SiLU ops computed as x * sigmoid(x) to stay INT8 (decompose_silu)
  int64_t relu6_folded = 0;     ///< ReLU6 clamps folded into the quantized op before them (fold_relu6_into_quantized_ops)
  int64_t cats_channels_last = 0;  ///< concatenations put on LibTorch's channels-last fast path (rewrite_quantized_cats)
  std::vector<std::string> training_only_submodules;  ///< left out: no method reads them at inference (drop_unused_submodules)
  nlohmann::json calibrator_check;  ///< calibrator_verdict's json; null without QuantConfig::check_data
};

/// Progress: (batches done, batches total).
using CalibrationProgress = std::function<void(int64_t, int64_t)>;

/// Static INT8: calibrates activations on `calib` (every forward() input) with the configured
/// calibrator. Branches on `self.training` are resolved for inference first
/// (resolve_inference_branches), submodules only those branches used are left out
/// (drop_unused_submodules), and SiLU becomes x * sigmoid(x) so it stays INT8
/// (decompose_silu); after conversion, ReLU6 is folded into the quantized op before it
/// (fold_relu6_into_quantized_ops) and quantized concatenations are put on LibTorch's fast path
/// (lib/model/float_quantize.h). Failures: invalid_input when the model does not run on `calib`;
/// runtime_failure naming the stage, the code location and the failing layers when LibTorch's
/// passes reject the model.
QuantResult quantize_static(const Model& model, const Dataset& calib, const QuantConfig& config,
                            const CalibrationProgress& progress = {});

/// Dynamic INT8 (Linear): weights INT8, activations quantized per call; same preparation and errors. Keeps reduce_range off,
/// which LibTorch's Finalize(DYNAMIC) forces on although onednn/VNNI does not need it.
Model quantize_dynamic(const Model& model, const QuantConfig& config);

/// Module paths of the layers quantization can act on (conv/linear submodules), for --skip globs.
std::vector<std::string> quantizable_modules(const Model& model);

/// The largest quint8 activation value static INT8 uses: 255, or 127 where this host's int8 kernels
/// saturate (x86 without VNNI: PyTorch's own x86/fbgemm qconfig reduces the range there likewise).
int64_t activation_quant_max();

/// The quantizable modules matching any of the globs (--skip); usage_error naming the layers when a
/// pattern matches none (a typo would otherwise quantize the layer it meant to keep).
std::vector<std::string> quantizable_modules_matching(const std::vector<std::string>& patterns, const Model& model);

}  // namespace mopt::quant
