// store-weights: fp16 or bf16 weight storage (`mopt quantize --mode fp16|bf16`) as a pipeline pass.
//   Before: aten::conv2d(x, W_fp32, b_fp32)          (frozen: weights are graph constants)
//   After:  aten::conv2d(x, W_fp16.to(float32), b...) every floating-point constant stored in the
//           dtype and cast back where it is used; compute stays float32.
// Preconditions: none (it freezes first). The file shrinks ~2x; each call pays the casts on CPU.
// Stats: rewrites = constants converted.
#include "lib/errors.h"
#include "passes/quantize/quantize_passes.h"
#include "passes/quantize/reduced_precision.h"

namespace mopt {
namespace {

class StoreWeightsPass : public Pass {
 public:
  const PassInfo& info() const override {
    static const PassInfo info{"store-weights",
                               "store floating-point weights in fp16 or bf16 (half the file), computed in float32 (freezes first)",
                               {ModelFormat::kTorchScript},
                               {{"dtype", OptionType::kString, "fp16", "fp16 or bf16"}}};
    return info;
  }

  PassStats run(Model& model, const PassOptions& options, const PassContext&) const override {
    const auto dtype = options.get_string("dtype");
    if (dtype != "fp16" && dtype != "bf16") throw usage_error("store-weights: dtype is fp16 or bf16, not '" + dtype + "'");
    PassStats stats;
    stats.rewrites = quant::store_weights_reduced(model, dtype == "fp16" ? torch::kHalf : torch::kBFloat16);
    return stats;
  }
};

}  // namespace

std::unique_ptr<Pass> make_store_weights_pass() { return std::make_unique<StoreWeightsPass>(); }

}  // namespace mopt
