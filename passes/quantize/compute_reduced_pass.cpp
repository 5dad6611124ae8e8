// compute-bf16 / compute-fp16: weights and activations in bfloat16 or float16 (`mopt quantize --mode
// bf16-compute` on the CPU; `--mode bf16|fp16 --device cuda`).
//   Before: y = aten::conv2d(x, W_fp32, b_fp32)     (frozen: weights are graph constants)
//   After:  y = aten::conv2d(x.to(bf16), W_bf16, b_bf16).to(float32) at the graph's edges only:
//           every float32 constant stored in the reduced type, each floating-point tensor input
//           cast where it enters and each output (tuple, list and dict elements too) cast back, so
//           every op between runs in it.
// Preconditions: none (it freezes first). `mopt quantize` runs it on the fastest fp32 baseline
// (frozen, optimized for inference, channels-last where that was faster).
// CPUs with AMX or AVX512-BF16 run oneDNN's bf16 convolutions and matmuls ~2x faster than float32;
// others emulate them and are slower, which quantize's measurement says. fp16 is for GPUs (CPUs
// without AVX512-FP16 emulate it).
// Stats: rewrites = constants converted.
#include "passes/quantize/quantize_passes.h"
#include "passes/quantize/reduced_precision.h"

namespace mopt {
namespace {

class ComputeReducedPass : public Pass {
 public:
  ComputeReducedPass(const char* name, const char* description, c10::ScalarType dtype)
      : info_{name, description, {ModelFormat::kTorchScript}, {}, /*libtorch_runtime_only=*/true}, dtype_(dtype) {}

  const PassInfo& info() const override { return info_; }

  PassStats run(Model& model, const PassOptions&, const PassContext&) const override {
    PassStats stats;
    stats.rewrites = quant::compute_in_reduced_precision(model, dtype_);
    return stats;
  }

 private:
  PassInfo info_;
  c10::ScalarType dtype_;
};

}  // namespace

std::unique_ptr<Pass> make_compute_bf16_pass() {
  return std::make_unique<ComputeReducedPass>(
      "compute-bf16", "weights and activations in bfloat16, float32 only at the inputs and outputs (freezes first)",
      torch::kBFloat16);
}

std::unique_ptr<Pass> make_compute_fp16_pass() {
  return std::make_unique<ComputeReducedPass>(
      "compute-fp16", "weights and activations in float16, float32 only at the inputs and outputs (freezes first; for GPUs)",
      torch::kHalf);
}

}  // namespace mopt
