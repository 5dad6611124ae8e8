// optimize-for-inference: torch.jit.optimize_for_inference, made safe to save.
//   Before: a (frozen) graph of generic aten ops.
//   After:  conv+add+relu fused, frozen linear weights pre-transposed; with mkldnn=true also
//           oneDNN (MKLDNN) layouts around conv chains with pre-reordered weights, leaving oneDNN
//           once where the graph returns to dense tensors (onednn_exits.h).
// Preconditions: freezes the module first when it is not frozen yet (the LibTorch passes need
// constant weights).
// Why mkldnn=true needs make_mkldnn_reloadable: LibTorch 1.13 bakes opaque oneDNN tensors into
// the graph as constants, and a module saved like that cannot be loaded again ("required keyword
// attribute 'value' is undefined"). The rewrite keeps dense copies and packs them on the first
// call. It is why x86 compile is 1.4x on ResNet-18 as a file, not just in-process. Like every
// heuristic here it must be measured: it made a small transformer 3x slower on this machine kind
// (docs/design.md), so compile's --keep-if-faster checks it.
// Stats: rewrites = ops that disappeared or changed kind.
#include <torch/csrc/jit/passes/frozen_conv_add_relu_fusion.h>
#include <torch/csrc/jit/passes/frozen_linear_transpose.h>
#include <torch/csrc/jit/passes/frozen_ops_to_mkldnn.h>

#include "lib/model/graph_stats.h"
#include "passes/graph/graph_passes.h"
#include "passes/graph/onednn_exits.h"
#include "passes/graph/reloadable_mkldnn.h"

namespace mopt {
namespace {

class OptimizeForInferencePass : public Pass {
 public:
  const PassInfo& info() const override {
    static const PassInfo info{
        "optimize-for-inference",
        "torch.jit.optimize_for_inference fusions (freezes first); measure it, it can slow models down",
        {ModelFormat::kTorchScript},
        {{"mkldnn", OptionType::kBool, "false",
          "also convert conv chains to oneDNN layouts with weights packed once when loaded (x86)"}},
        /*libtorch_runtime_only=*/true};
    return info;
  }

  PassStats run(Model& model, const PassOptions& options, const PassContext&) const override {
    auto& module = model.torchscript();
    auto before = op_histogram(model);
    const bool froze = freeze_unless_frozen(module, /*optimize_numerics=*/true);
    for (const auto& method : module.get_methods()) {
      auto graph = method.graph();
      torch::jit::FuseFrozenConvAddRelu(graph);
      if (options.get_bool("mkldnn")) {
        torch::jit::ConvertFrozenOpsToMKLDNN(graph);
        clamp_where_graph_leaves_onednn(*graph);
        read_sizes_without_dense_copy(*graph);
      }
      torch::jit::FrozenLinearTranspose(graph);
    }
    const int64_t repacked = options.get_bool("mkldnn") ? make_mkldnn_reloadable(module) : 0;
    model.invalidate_graph_caches();
    auto after = op_histogram(model);
    PassStats stats;
    stats.rewrites = ops_removed(before, after);
    stats.details = {{"froze_first", froze}, {"ops_before", total_ops(before)}, {"ops_after", total_ops(after)},
                     {"mkldnn_nodes_made_reloadable", repacked}};
    return stats;
  }
};

}  // namespace

std::unique_ptr<Pass> make_optimize_for_inference_pass() { return std::make_unique<OptimizeForInferencePass>(); }

}  // namespace mopt
