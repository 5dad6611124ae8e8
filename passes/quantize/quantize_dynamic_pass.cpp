// quantize-dynamic: dynamic INT8 for Linear layers as a pipeline pass.
//   Before: aten::linear(x, W, b)                        (fp32 weights)
//   After:  quantized::linear_dynamic(x, packed{W_int8, b}, reduce_range=false)
//           activations are quantized per call from their run-time range; weights per channel
//           (or per tensor) symmetric qint8.
// Preconditions: an unfrozen TorchScript module (the JIT quantization passes work on module
// structure); the quantized engine is set before the result is run or saved.
// Stats: rewrites = linear layers now running quantized::linear_dynamic.
#include "lib/model/graph_stats.h"
#include "passes/quantize/quantize_passes.h"
#include "passes/quantize/static_quantizer.h"

namespace mopt {
namespace {

class QuantizeDynamicPass : public Pass {
 public:
  const PassInfo& info() const override {
    static const PassInfo info{"quantize-dynamic",
                               "dynamic INT8 for Linear layers (weights INT8, activations quantized per call)",
                               {ModelFormat::kTorchScript},
                               {{"per-channel", OptionType::kBool, "true", "one weight scale per output channel"}}};
    return info;
  }

  PassStats run(Model& model, const PassOptions& options) const override {
    quant::QuantConfig config;
    config.per_channel = options.get_bool("per-channel");
    model = quant::quantize_dynamic(model, config);
    PassStats stats;
    stats.rewrites = op_count(model, "quantized::linear_dynamic");
    return stats;
  }
};

}  // namespace

std::unique_ptr<Pass> make_quantize_dynamic_pass() { return std::make_unique<QuantizeDynamicPass>(); }

}  // namespace mopt
