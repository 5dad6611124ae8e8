// channels-last: stores frozen 4-D convolution weights in channels-last (NHWC) memory order.
//   Before: %w = prim::Constant[value=<Tensor 32x3x3x3, NCHW strides>]()
//           %y = aten::conv2d(%x, %w, ...) ; ... ; %z = aten::view(%y, ...)
//   After:  %w = prim::Constant[value=<Tensor 32x3x3x3, NHWC strides>]()   (same values)
//           %y = aten::conv2d(%x, %w, ...) ; ... ; %c = aten::contiguous(%y) ; %z = aten::view(%c, ...)
// Why: LibTorch's CPU convolution runs oneDNN in NHWC when the weight (or the input) is
// channels-last, and its output stays NHWC, so every following conv, ReLU6, hardswish, add and
// pool runs on NHWC tensors with no layout round trips. optimize-for-inference{mkldnn} instead
// converts each conv chain to opaque oneDNN tensors and back to dense tensors around every op it
// has no oneDNN kernel for (ReLU6 in MobileNetV2: two reorders per activation). The strides are
// kept by TorchScript's serializer, so the file reloads as it was saved. Measured in a fresh
// process at 1 thread (issue 14): MobileNetV2 6.6 ms channels-last vs 18.4 ms with oneDNN layouts;
// EfficientNet-B0 12.8 vs 22.8. Not every model gains: compile's --keep-if-faster measures it.
// aten::view needs compatible strides, so a contiguous() goes in front of each view (a no-op
// returning the same tensor when the input already is contiguous).
// Preconditions: weights must be graph constants: the module is frozen first when it is not.
// Weights whose two orders coincide (1x1 and depthwise kernels: a size-1 dim makes NCHW strides
// NHWC-contiguous too) are left as they are.
// Stats: rewrites = conv weights converted; details count the views guarded.
#include <torch/csrc/jit/passes/dead_code_elimination.h>

#include <set>

#include "passes/graph/graph_passes.h"

namespace mopt {
namespace {

using torch::jit::Graph;
using torch::jit::Node;

bool is_convolution(const Node* node) {
  static const std::set<std::string> kinds = {"aten::conv2d", "aten::_convolution", "aten::convolution",
                                              "aten::conv_transpose2d"};
  return kinds.count(node->kind().toQualString()) > 0;
}

// Replaces each constant 4-D weight of a convolution with its channels-last copy.
int64_t convert_weights(Graph& graph) {
  int64_t converted = 0;
  for (auto* node : graph.nodes()) {
    if (!is_convolution(node) || node->inputs().size() < 2) continue;
    auto* weight = node->inputs().at(1);
    auto value = torch::jit::toIValue(weight);
    if (!value || !value->isTensor()) continue;
    auto tensor = value->toTensor();
    if (tensor.dim() != 4 || tensor.is_mkldnn() || tensor.is_contiguous(at::MemoryFormat::ChannelsLast)) continue;
    torch::jit::WithInsertPoint guard(node);
    auto* replacement = graph.insertConstant(tensor.contiguous(at::MemoryFormat::ChannelsLast));
    node->replaceInput(1, replacement);
    ++converted;
  }
  return converted;
}

// Makes the input of every aten::view contiguous first (a view of an NHWC tensor can fail).
int64_t guard_views(Graph& graph) {
  int64_t guarded = 0;
  for (auto* node : graph.nodes()) {
    if (node->kind() != c10::aten::view) continue;
    torch::jit::WithInsertPoint guard(node);
    auto* contiguous = graph.insert(c10::aten::contiguous, {node->inputs().at(0)});
    node->replaceInput(0, contiguous);
    ++guarded;
  }
  return guarded;
}

class ChannelsLastPass : public Pass {
 public:
  const PassInfo& info() const override {
    static const PassInfo info{"channels-last",
                               "store conv weights in NHWC order so convolutions and what follows run in NHWC (freezes first)",
                               {ModelFormat::kTorchScript},
                               {},
                               /*libtorch_runtime_only=*/true};
    return info;
  }

  PassStats run(Model& model, const PassOptions&, const PassContext&) const override {
    auto& module = model.torchscript();
    const bool froze = freeze_unless_frozen(module, /*optimize_numerics=*/true);
    int64_t converted = 0, views = 0;
    for (const auto& method : module.get_methods()) {
      auto graph = method.graph();
      const int64_t weights = convert_weights(*graph);
      converted += weights;
      if (weights > 0) views += guard_views(*graph);
      torch::jit::EliminateDeadCode(graph);  // the NCHW constants, now unused
    }
    model.invalidate_graph_caches();
    PassStats stats;
    stats.rewrites = converted;
    stats.details = {{"froze_first", froze}, {"conv_weights", converted}, {"views_guarded", views}};
    return stats;
  }
};

}  // namespace

std::unique_ptr<Pass> make_channels_last_pass() { return std::make_unique<ChannelsLastPass>(); }

}  // namespace mopt
