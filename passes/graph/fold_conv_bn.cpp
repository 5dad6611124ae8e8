// fold-conv-bn: folds BatchNorm into the preceding convolution.
//   Before: y = BN(conv(x, W, b)) = gamma * (conv(x, W, b) - mean) / sqrt(var + eps) + beta
//   After:  y = conv(x, W', b') with W' = W * s, b' = (b - mean) * s + beta, s = gamma / sqrt(var + eps)
//           (s broadcast over W's output-channel axis).
// Preconditions: eval mode (BN uses running statistics); the conv output feeds only the BN.
// Works on both module form (Conv2d/BatchNorm2d submodules, LibTorch's FoldConvBatchNorm) and
// frozen graphs (aten::conv + aten::batch_norm on constants, FoldFrozenConvBatchnorm).
// Stats: rewrites = aten::batch_norm ops removed.
#include <torch/csrc/jit/passes/fold_conv_bn.h>
#include <torch/csrc/jit/passes/frozen_conv_folding.h>

#include "lib/model/graph_stats.h"
#include "passes/graph/graph_passes.h"

namespace mopt {
namespace {

class FoldConvBnPass : public Pass {
 public:
  const PassInfo& info() const override {
    static const PassInfo info{"fold-conv-bn",
                               "fold BatchNorm into the preceding Conv's weight and bias (inference only)",
                               {ModelFormat::kTorchScript},
                               {}};
    return info;
  }

  PassStats run(Model& model, const PassOptions&, const PassContext&) const override {
    auto& module = model.torchscript();
    int64_t before = op_count(model, "aten::batch_norm");
    module.eval();
    if (module.hasattr("training")) {
      module = torch::jit::FoldConvBatchNorm(module);  // module form: rewrites submodule weights
    }
    for (const auto& method : module.get_methods()) {
      auto graph = method.graph();
      torch::jit::FoldFrozenConvBatchnorm(graph);  // frozen form: constants in the graph
    }
    PassStats stats;
    stats.rewrites = before - op_count(model, "aten::batch_norm");
    return stats;
  }
};

}  // namespace

std::unique_ptr<Pass> make_fold_conv_bn_pass() { return std::make_unique<FoldConvBnPass>(); }

}  // namespace mopt
