// fuse-add-relu: one aten::_add_relu instead of an add followed by a relu (ResNet residuals).
//   Before: %s = aten::add(%a, %b, %alpha) ; %y = aten::relu(%s)      (or add_ / relu_ forms)
//   After:  %y = aten::_add_relu(%a, %b, %alpha)                       (aten::_add_relu_ in place)
// Preconditions: the add and the relu must sit in one graph, so an unfrozen module is frozen first
// (numerics-preserving freeze); the add's result must have no other use (LibTorch's FuseAddRelu
// patterns). Same math, one pass over memory: relu(a + alpha * b) computed elementwise.
// With inplace=true, functional activations whose input nothing else reads become in-place ones
// (LibTorch's alias-checked FunctionalToInplaceActivation): relu -> relu_, hardtanh -> hardtanh_...
// What it is not: conv+relu and linear+relu have no separate fused fp32 CPU op in LibTorch 1.13;
// those fusions live in optimize-for-mobile (XNNPACK conv/linear with a clamp), in oneDNN
// (optimize-for-inference{mkldnn=true}, not saveable in 1.13) and in quantization
// (quantized::conv2d_relu). Like every pass here it must be measured (mopt compile --keep-if-faster).
// Stats: rewrites = add+relu pairs fused + activations made in place.
#include <torch/csrc/jit/passes/fuse_relu.h>
#include <torch/csrc/jit/passes/restore_mutation.h>

#include <set>

#include "passes/graph/graph_passes.h"

namespace mopt {
namespace {

int64_t count_kinds(const torch::jit::Block* block, const std::set<c10::Symbol>& kinds) {
  int64_t n = 0;
  for (const auto* node : block->nodes()) {
    if (kinds.count(node->kind())) ++n;
    for (const auto* sub : node->blocks()) n += count_kinds(sub, kinds);
  }
  return n;
}

// Activations FunctionalToInplaceActivation may rewrite, and their in-place forms.
std::set<c10::Symbol> in_place_activations() {
  std::set<c10::Symbol> kinds;
  for (const auto& [kind, promotes] : torch::jit::activation_type_promotion_mapping) {
    kinds.insert(c10::Symbol::fromQualString(std::string(kind.toQualString()) + "_"));
  }
  return kinds;
}

class FuseAddReluPass : public Pass {
 public:
  const PassInfo& info() const override {
    static const PassInfo info{
        "fuse-add-relu",
        "fuse add+relu into aten::_add_relu (freezes first); conv+relu: LibTorch 2.x's fused oneDNN op measured no "
        "faster in a saved file than optimize-for-inference (docs/benchmarks.md)",
        {ModelFormat::kTorchScript},
        {{"inplace", OptionType::kBool, "false",
          "also make activations in place (relu -> relu_) where alias analysis allows; saves memory, speed within "
          "noise on the fixtures"}}};
    return info;
  }

  PassStats run(Model& model, const PassOptions& options, const PassContext&) const override {
    static const std::set<c10::Symbol> kFused = {c10::Symbol::fromQualString("aten::_add_relu"),
                                                 c10::Symbol::fromQualString("aten::_add_relu_")};
    static const std::set<c10::Symbol> kInPlace = in_place_activations();
    auto& module = model.torchscript();
    const bool froze = freeze_unless_frozen(module, /*optimize_numerics=*/false);
    PassStats stats;
    int64_t fused = 0, in_place = 0;
    for (const auto& method : module.get_methods()) {
      auto graph = method.graph();
      const int64_t fused_before = count_kinds(graph->block(), kFused);
      torch::jit::FuseAddRelu(graph);
      fused += count_kinds(graph->block(), kFused) - fused_before;
      if (options.get_bool("inplace")) {
        const int64_t before = count_kinds(graph->block(), kInPlace);
        torch::jit::FunctionalToInplaceActivation(graph);
        in_place += count_kinds(graph->block(), kInPlace) - before;
      }
    }
    model.invalidate_graph_caches();
    stats.rewrites = fused + in_place;
    stats.details = {{"froze_first", froze}, {"add_relu_fused", fused}, {"activations_made_in_place", in_place}};
    return stats;
  }
};

}  // namespace

std::unique_ptr<Pass> make_fuse_add_relu_pass() { return std::make_unique<FuseAddReluPass>(); }

}  // namespace mopt
