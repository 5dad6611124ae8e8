// Reduced-precision weight storage, and bf16/fp16 compute.
// Storage:
//   Before: %w : Tensor = prim::Constant[value=<float32 tensor>]() ; aten::conv2d(%x, %w, ...)
//   After:  %w16 = prim::Constant[value=<float16 tensor>]() ; %w = aten::to(%w16, 6) ; aten::conv2d(%x, %w, ...)
// Compute:
//   After:  %xb = aten::to(%x, 15) (floating-point inputs only; 5 for fp16) ; %w = prim::Constant[value=<bfloat16 tensor>]() ; %y = aten::conv2d(%xb, %w, ...)
//           ... ; return aten::to(%out, 6)
// Preconditions: a frozen graph (weights are constants). No constant propagation may run after
// storage, or the casts fold back into float32 constants.
#include "passes/quantize/reduced_precision.h"

#include <fmt/format.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>

#include "lib/errors.h"
#include "lib/model/graph_walk.h"

namespace mopt::quant {

namespace {

using torch::jit::Graph;
using torch::jit::Node;
using torch::jit::Value;

std::shared_ptr<Graph> frozen_forward(Model& model) {
  auto& module = model.torchscript();
  module.eval();
  if (module.hasattr("training")) module = torch::jit::freeze(module);
  return module.get_method("forward").graph();
}

// float32 tensor constants with at least `min_numel` elements.
std::vector<Node*> float_constants(Graph& graph, int64_t min_numel) {
  std::vector<Node*> constants;
  for (auto* node : graph.nodes()) {
    if (node->kind() != c10::prim::Constant || !node->output()->type()->cast<c10::TensorType>()) continue;
    auto value = torch::jit::toIValue(node->output());
    if (value && value->isTensor() && value->toTensor().scalar_type() == torch::kFloat && value->toTensor().numel() >= min_numel) {
      constants.push_back(node);
    }
  }
  return constants;
}

// aten::to(value, dtype), inserted at the graph's current insertion point.
Value* cast(Graph& graph, Value* value, c10::ScalarType dtype) {
  return graph.insert(c10::aten::to, {value, static_cast<int64_t>(dtype)});
}

// aten::to(value, dtype) when `value` holds floating-point numbers, else `value` unchanged: token
// ids and masks (int64) must reach embeddings and comparisons as integers. Decided at run time, since
// a saved graph's inputs carry no dtype.
Value* cast_if_floating(Graph& graph, Value* value, c10::ScalarType dtype) {
  Value* is_float = graph.insert(c10::aten::is_floating_point, {value});
  Node* branch = graph.insertNode(graph.create(c10::prim::If, {is_float}, 1));
  branch->output()->setType(value->type());
  auto* cast_block = branch->addBlock();
  {
    torch::jit::WithInsertPoint inside(cast_block);
    cast_block->registerOutput(cast(graph, value, dtype));
  }
  branch->addBlock()->registerOutput(value);
  return branch->output();
}

}  // namespace

int64_t compute_in_reduced_precision(Model& model, c10::ScalarType dtype) {
  auto graph = frozen_forward(model);
  const auto constants = float_constants(*graph, 0);
  for (auto* node : constants) {
    torch::jit::WithInsertPoint guard(node);
    node->output()->replaceAllUsesWith(graph->insertConstant(torch::jit::toIValue(node->output())->toTensor().to(dtype)));
    node->destroy();
  }
  for (size_t i = 1; i < graph->inputs().size(); ++i) {  // input 0 is the module
    Value* input = graph->inputs()[i];
    if (!is_tensor(input)) continue;
    const auto uses = input->uses();  // the model's own uses, before the cast adds its
    torch::jit::WithInsertPoint guard(graph->block()->nodes().front());
    Value* reduced = cast_if_floating(*graph, input, dtype);
    for (const auto& use : uses) use.user->replaceInput(use.offset, reduced);
  }
  for (size_t i = 0; i < graph->outputs().size(); ++i) {
    Value* output = graph->outputs()[i];
    if (is_tensor(output)) {
      torch::jit::WithInsertPoint guard(graph->return_node());
      graph->return_node()->replaceInput(i, cast(*graph, output, torch::kFloat));
      continue;
    }
    // A tuple or list built for the return, or a dict filled by stores (segmentation models'
    // {"out": ...}): their tensor elements are cast where they go in.
    std::vector<std::pair<Node*, size_t>> elements;
    Node* producer = output->node();
    if (producer->kind() == c10::prim::TupleConstruct || producer->kind() == c10::prim::ListConstruct) {
      for (size_t e = 0; e < producer->inputs().size(); ++e) elements.emplace_back(producer, e);
    } else if (producer->kind() == c10::aten::dict) {
      for (const auto& use : output->uses()) {
        if (use.user->kind() == c10::aten::_set_item && use.offset == 0) elements.emplace_back(use.user, 2);
      }
    } else {
      throw invalid_input(fmt::format("{} compute casts tensor outputs back to float32, and this model returns a {}; store "
                                      "the weights only (--mode bf16 or fp16 on the CPU)", c10::toString(dtype), output->type()->str()));
    }
    for (auto [user, e] : elements) {
      if (!is_tensor(user->input(e))) continue;
      torch::jit::WithInsertPoint before(user);
      user->replaceInput(e, cast(*graph, user->input(e), torch::kFloat));
    }
  }
  model.invalidate_graph_caches();
  return static_cast<int64_t>(constants.size());
}

int64_t store_weights_reduced(Model& model, c10::ScalarType dtype) {
  auto graph = frozen_forward(model);
  const auto constants = float_constants(*graph, 2);
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
