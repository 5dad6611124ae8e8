// Reduced-precision weight storage.
//   Before: %w : Tensor = prim::Constant[value=<float32 tensor>]() ; aten::conv2d(%x, %w, ...)
//   After:  %w16 = prim::Constant[value=<float16 tensor>]() ; %w = aten::to(%w16, 6) ; aten::conv2d(%x, %w, ...)
// Preconditions: a frozen graph (weights are constants). No constant propagation may run after it,
// or the casts fold back into float32 constants.
#include "passes/quantize/reduced_precision.h"

#include <torch/csrc/jit/passes/dead_code_elimination.h>

namespace mopt::quant {

int64_t store_weights_reduced(Model& model, c10::ScalarType dtype) {
  auto& module = model.torchscript();
  module.eval();
  if (module.hasattr("training")) module = torch::jit::freeze(module);
  auto graph = module.get_method("forward").graph();
  std::vector<torch::jit::Node*> constants;
  for (auto* node : graph->nodes()) {
    if (node->kind() != c10::prim::Constant || !node->output()->type()->cast<c10::TensorType>()) continue;
    auto value = torch::jit::toIValue(node->output());
    if (value && value->isTensor() && value->toTensor().scalar_type() == torch::kFloat && value->toTensor().numel() > 1) {
      constants.push_back(node);
    }
  }
  for (auto* node : constants) {
    auto reduced = torch::jit::toIValue(node->output())->toTensor().to(dtype);
    torch::jit::WithInsertPoint guard(node->next());
    auto* stored = graph->insertConstant(reduced);
    auto* restored = graph->insert(c10::aten::to, {stored, static_cast<int64_t>(torch::kFloat)});
    node->output()->replaceAllUsesWith(restored);
    node->destroy();
  }
  torch::jit::EliminateDeadCode(graph);
  model.invalidate_graph_caches();
  return static_cast<int64_t>(constants.size());
}

}  // namespace mopt::quant
