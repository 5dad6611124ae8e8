// compute-bf16: weights and activations in bfloat16 (`mopt quantize --mode bf16-compute`).
//   Before: y = aten::conv2d(x, W_fp32, b_fp32)     (frozen: weights are graph constants)
//   After:  y = aten::conv2d(x.to(bf16), W_bf16, b_bf16).to(float32) at the graph's edges only:
//           every float32 constant stored in bfloat16, each tensor input cast where it enters and
//           each output (tuple, list and dict elements too) cast back, so every op between runs
//           in bfloat16.
// Preconditions: none (it freezes first). `mopt quantize` runs it on the fastest fp32 baseline
// (frozen, optimized for inference, channels-last where that was faster).
// CPUs with AMX or AVX512-BF16 run oneDNN's bf16 convolutions and matmuls ~2x faster than float32;
// others emulate them and are slower, which quantize's measurement says.
// Stats: rewrites = constants converted.
#include "passes/quantize/quantize_passes.h"
#include "passes/quantize/reduced_precision.h"

namespace mopt {
namespace {

class ComputeBf16Pass : public Pass {
 public:
  const PassInfo& info() const override {
    static const PassInfo info{"compute-bf16",
                               "weights and activations in bfloat16, float32 only at the inputs and outputs (freezes first)",
                               {ModelFormat::kTorchScript},
                               {},
                               /*libtorch_runtime_only=*/true};
    return info;
  }

  PassStats run(Model& model, const PassOptions&, const PassContext&) const override {
    PassStats stats;
    stats.rewrites = quant::compute_in_bfloat16(model);
    return stats;
  }
};

}  // namespace

std::unique_ptr<Pass> make_compute_bf16_pass() { return std::make_unique<ComputeBf16Pass>(); }

}  // namespace mopt
