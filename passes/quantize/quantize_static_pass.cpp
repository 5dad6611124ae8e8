// quantize-static: calibrated static INT8, for either format.
//   TorchScript: LibTorch's JIT graph-mode quantization (static_quantizer.h): observers on the
//     activations, calibration, then quantized::conv2d / quantized::linear and friends; weights
//     symmetric qint8 per channel (or per tensor), activations quint8.
//   ONNX: QuantizeLinear/DequantizeLinear pairs that ONNX Runtime fuses into INT8 kernels
//     (qdq_quantizer.h): plan from the graph, calibrate the planned activations (LibTorch, through
//     the importer), rewrite, then onnx.checker's strict check.
// Preconditions: calibration inputs in the PassContext (`mopt quantize --calib`, `mopt optimize
// --calib`). An ONNX graph after the clean-up passes (constants as initializers, BN folded)
// quantizes best; `mopt quantize --print-pipeline` shows the whole pipeline.
// Stats: rewrites = ops now INT8 (TorchScript: quantized:: ops; ONNX: quantized nodes); details:
// what calibration saw. `mopt quantize` adds what a pass cannot: the fp32 baseline, the accuracy
// fallback loop and the measurement in the deployment runtime.
#include <fmt/format.h>

#include <utility>

#include "lib/errors.h"
#include "lib/onnx/graph_utils.h"
#include "lib/util/strings.h"
#include "passes/quantize/onnx/activation_calibration.h"
#include "passes/quantize/onnx/qdq_quantizer.h"
#include "passes/quantize/quant_boundaries.h"
#include "passes/quantize/quantize_passes.h"
#include "passes/quantize/static_quantizer.h"

namespace mopt {

std::vector<std::string> split_skip_option(const std::string& text) {
  std::vector<std::string> globs;
  for (auto& part : split(text, ',')) {
    if (!part.empty()) globs.push_back(std::move(part));
  }
  return globs;
}

namespace {

PassStats quantize_torchscript(Model& model, const PassOptions& options, const Dataset& calib,
                               const std::function<void(const std::string&)>& log) {
  quant::QuantConfig config;
  config.calibrator = options.get_string("calibrator");
  config.calibrator_options.percentile = options.get_float("percentile");
  config.per_channel = options.get_bool("per-channel");
  config.symmetric_activations = options.get_bool("symmetric-activations");
  config.calib_batch = options.get_int("calib-batch");
  config.skip_modules = quant::quantizable_modules_matching(split_skip_option(options.get_string("skip")), model);
  auto result = quant::quantize_static(model, calib, config, [&](int64_t done, int64_t total) {
    if (done == total) log(fmt::format("calibrated on {} batches", total));
  });
  model = result.model;
  PassStats stats;
  stats.rewrites = quant::quantization_boundaries(model)["quantized_ops"].get<int64_t>();
  stats.details = {{"calibration_samples", result.calibration_samples},
                   {"activations", result.activations.size()},
                   {"fp32_layers", config.skip_modules},
                   {"silu_as_sigmoid_mul", result.silu_decomposed},
                   {"relu6_folded", result.relu6_folded}};
  return stats;
}

PassStats quantize_onnx(Model& model, const PassOptions& options, const Dataset& calib,
                        const std::function<void(const std::string&)>& log) {
  onnx_quant::QdqOptions qdq;
  qdq.per_channel = options.get_bool("per-channel");
  qdq.symmetric_activations = options.get_bool("symmetric-activations");
  qdq.skip = split_skip_option(options.get_string("skip"));
  const auto plan = onnx_quant::plan_qdq(model.onnx(), qdq);
  PassStats stats;
  if (plan.targets.empty()) return stats;  // nothing mopt quantizes: a no-op, as for any pass
  CalibratorOptions calibrator_options;
  calibrator_options.percentile = options.get_float("percentile");
  const auto calibrated = onnx_quant::calibrate_tensors(model.onnx(), plan.calibrate, calib.input_list(),
                                                        options.get_string("calibrator"), calibrator_options,
                                                        options.get_int("calib-batch"), log);
  auto quantized = onnx_quant::apply_qdq(model.onnx(), plan, calibrated.ranges, qdq, stats.details);
  check_model_strictly(quantized, "the QDQ model");
  model = Model::from_onnx(std::move(quantized));
  stats.rewrites = static_cast<int64_t>(plan.targets.size());
  stats.details.erase("activation_params");  // one entry per tensor: the report of `mopt quantize` has them
  stats.details["calibration_samples"] = calibrated.samples;
  return stats;
}

class QuantizeStaticPass : public Pass {
 public:
  const PassInfo& info() const override {
    static const PassInfo info{
        "quantize-static",
        "calibrated static INT8: LibTorch quantized ops for TorchScript, QDQ that ONNX Runtime fuses for ONNX",
        {ModelFormat::kTorchScript, ModelFormat::kOnnx},
        {{"calibrator", OptionType::kString, "minmax", "minmax, moving-average, percentile, entropy or mse"},
         {"percentile", OptionType::kFloat, "99.99", "percent of values the percentile calibrator keeps"},
         {"per-channel", OptionType::kBool, "true", "one weight scale per output channel (false: per tensor)"},
         {"symmetric-activations", OptionType::kBool, "false", "symmetric activation ranges instead of affine"},
         {"calib-batch", OptionType::kInt, "32", "calibration batch size"},
         {"skip", OptionType::kString, "", "comma-separated globs of layers (ONNX: node or weight names) kept in fp32"}},
        /*libtorch_runtime_only=*/false,
        /*needs_calibration=*/true};
    return info;
  }

  PassStats run(Model& model, const PassOptions& options, const PassContext& context) const override {
    if (!context.calibration) throw usage_error("quantize-static calibrates activations: give calibration inputs (--calib DATA)");
    std::function<void(const std::string&)> log = [](const std::string&) {};
    if (context.log) log = context.log;
    return model.is_onnx() ? quantize_onnx(model, options, *context.calibration, log)
                           : quantize_torchscript(model, options, *context.calibration, log);
  }
};

}  // namespace

std::unique_ptr<Pass> make_quantize_static_pass() { return std::make_unique<QuantizeStaticPass>(); }

}  // namespace mopt
