// optimize-for-mobile: torch.utils.mobile_optimizer.optimize_for_mobile (XNNPACK rewrites).
//   Before: aten::conv2d(x, W, b) -> aten::relu ; aten::linear(x, W, b)
//   After:  prepacked::conv2d_clamp_run(x, packed{W, b, clamp 0..inf}) ;
//           prepacked::linear_clamp_run(x, packed{W, b}) with weights pre-packed once at load.
// Also: conv1d -> conv2d, conv/linear + relu/hardtanh folded into the clamp, frozen, dropout
// removed. Preconditions: eval mode (set here); the target runs XNNPACK (ARM, also x86 here).
// Without XNNPACK in this LibTorch (PyTorch's x86 wheels are built without it; LibTorch asserts),
// the same steps run minus the prepacked rewrite, and the stats say so.
// Stats: rewrites = ops that disappeared or changed kind.
#include <ATen/Context.h>
#include <torch/csrc/jit/passes/fold_conv_bn.h>
#include <torch/csrc/jit/passes/freeze_module.h>
#include <torch/csrc/jit/passes/fuse_relu.h>
#include <torch/csrc/jit/passes/remove_dropout.h>
#include <torch/csrc/jit/passes/xnnpack_rewrite.h>

#include "lib/model/graph_stats.h"
#include "passes/graph/graph_passes.h"

namespace mopt {
namespace {

// optimizeForMobile's order (torch/csrc/jit/passes/xnnpack_rewrite.cpp) without the XNNPACK steps.
torch::jit::Module optimize_without_xnnpack(const torch::jit::Module& module) {
  auto result = module.clone();
  result.eval();
  torch::jit::transformConv1dToConv2d(result);
  result = torch::jit::FoldConvBatchNorm(result);
  result = torch::jit::freeze_module(result);
  torch::jit::removeDropout(result);
  torch::jit::FuseAddRelu(result);
  return result;
}

class OptimizeForMobilePass : public Pass {
 public:
  const PassInfo& info() const override {
    static const PassInfo info{"optimize-for-mobile",
                               "XNNPACK prepacked conv/linear with fused clamp (optimize_for_mobile); for ARM/mobile",
                               {ModelFormat::kTorchScript},
                               {},
                               /*libtorch_runtime_only=*/true};
    return info;
  }

  PassStats run(Model& model, const PassOptions&, const PassContext&) const override {
    auto& module = model.torchscript();
    auto before = op_histogram(model);
    module.eval();
    const bool xnnpack = at::globalContext().isXNNPACKAvailable();
    module = xnnpack ? torch::jit::optimizeForMobile(module) : optimize_without_xnnpack(module);
    model.invalidate_graph_caches();
    auto after = op_histogram(model);
    PassStats stats;
    stats.rewrites = ops_removed(before, after);
    stats.details = {{"ops_before", total_ops(before)}, {"ops_after", total_ops(after)}, {"xnnpack", xnnpack}};
    if (!xnnpack) {
      stats.details["note"] = "this LibTorch has no XNNPACK: frozen, conv-bn folded, dropout removed, add+relu fused; "
                              "no prepacked XNNPACK ops";
    }
    return stats;
  }
};

}  // namespace

std::unique_ptr<Pass> make_optimize_for_mobile_pass() { return std::make_unique<OptimizeForMobilePass>(); }

}  // namespace mopt
