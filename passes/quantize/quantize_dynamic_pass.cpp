// quantize-dynamic: dynamic INT8 as a pipeline pass.
//   TorchScript: aten::linear(x, W, b) -> quantized::linear_dynamic(x, packed{W_int8, b},
//     reduce_range=false); weights per channel (or per tensor) symmetric qint8.
//   ONNX: MatMul with a constant 2-D weight -> DynamicQuantizeLinear + MatMulInteger, LSTM ->
//     DynamicQuantizeLSTM (dynamic_quantizer.h), the layout ONNX Runtime's quantize_dynamic writes.
//   Activations are quantized per call from their run-time range: no calibration.
// Preconditions: an unfrozen TorchScript module (the JIT quantization passes work on module
// structure); the quantized engine is set before the result is run or saved.
// Stats: rewrites = layers now INT8 (linear_dynamic ops; ONNX: quantized nodes).
#include <fmt/format.h>

#include "lib/model/graph_stats.h"
#include "lib/onnx/graph_utils.h"
#include "passes/quantize/onnx/dynamic_quantizer.h"
#include "passes/quantize/onnx/int8_weights.h"
#include "passes/quantize/quantize_passes.h"
#include "passes/quantize/static_quantizer.h"

namespace mopt {
namespace {

class QuantizeDynamicPass : public Pass {
 public:
  const PassInfo& info() const override {
    static const PassInfo info{"quantize-dynamic",
                               "dynamic INT8 for Linear/MatMul and LSTM layers (weights INT8, activations quantized per call)",
                               {ModelFormat::kTorchScript, ModelFormat::kOnnx},
                               {{"per-channel", OptionType::kBool, "true", "one weight scale per output channel"},
                                {"skip", OptionType::kString, "", "comma-separated globs of layers (ONNX: node or weight names) kept in fp32"},
                                {"reduce-range", OptionType::kString, "auto",
          "ONNX output: 7-bit int8 weights, which ONNX Runtime's kernels need on x86 CPUs without VNNI (their int16 sums "
          "saturate): auto (where this CPU has no VNNI), on or off"}}};
    return info;
  }

  PassStats run(Model& model, const PassOptions& options, const PassContext& context) const override {
    const auto skip = split_skip_option(options.get_string("skip"));
    PassStats stats;
    if (model.is_onnx()) {
      const auto limit = onnx_quant::int8_weight_limit(options.get_string("reduce-range"));
      auto quantized = onnx_quant::apply_dynamic(model.onnx(), skip, options.get_bool("per-channel"), limit, stats.details);
      stats.details["int8_weight_limit"] = limit;
      if (limit < 127 && context.log) context.log(onnx_quant::kSevenBitWeightsNote);
      const auto& counts = stats.details["quantized_nodes"];
      for (const auto& [op, count] : counts.items()) stats.rewrites += count.get<int64_t>();
      if (stats.rewrites == 0) return stats;  // nothing to quantize: a no-op
      check_model_strictly(quantized, "the dynamic INT8 model");
      if (context.log) context.log(fmt::format("dynamic INT8: {} MatMul and {} LSTM nodes", counts.value("MatMul", 0), counts.value("LSTM", 0)));
      model = Model::from_onnx(std::move(quantized));
      return stats;
    }
    quant::QuantConfig config;
    config.per_channel = options.get_bool("per-channel");
    config.skip_modules = quant::quantizable_modules_matching(skip, model);
    model = quant::quantize_dynamic(model, config);
    stats.details = {{"per_channel", config.per_channel}, {"skipped_layers", config.skip_modules}};
    stats.rewrites = op_count(model, "quantized::linear_dynamic");
    return stats;
  }
};

}  // namespace

std::unique_ptr<Pass> make_quantize_dynamic_pass() { return std::make_unique<QuantizeDynamicPass>(); }

}  // namespace mopt
