// resolve_inference_branches: `self.training` becomes a constant false, then constant propagation
// deletes the training-only branches.
//   Before: %t = prim::GetAttr[name="training"](%self)
//           %y = prim::CallFunction(%stochastic_depth, %x, %p, %mode, %t)   # if not training: return x
//   After:  %y = %x
// Preconditions: every module is in eval mode (the caller's module.eval()); a module type whose
// methods write `training` is left alone, since its flag is not a constant.
#include "passes/quantize/inference_branches.h"

#include <torch/csrc/jit/passes/constant_propagation.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>

#include <algorithm>
#include <memory>
#include <vector>

#include "passes/graph/graph_passes.h"
#include "passes/quantize/inline_calls.h"

namespace mopt::quant {
namespace {

using torch::jit::Block;
using torch::jit::Graph;
using torch::jit::Node;
using torch::jit::Value;

bool is_module_value(const Value* value) {
  auto type = value->type()->cast<c10::ClassType>();
  return type && type->is_module();
}

bool is_training_read(const Node* node) {
  return node->kind() == c10::prim::GetAttr && node->s(c10::attr::name) == "training" && is_module_value(node->input(0));
}

void collect(Block* block, c10::Symbol kind, std::vector<Node*>& found) {
  for (auto* node : block->nodes()) {
    if (node->kind() == kind) found.push_back(node);
    for (auto* sub : node->blocks()) collect(sub, kind, found);
  }
}

bool writes_training(Graph& graph) {
  std::vector<Node*> writes;
  collect(graph.block(), c10::prim::SetAttr, writes);
  for (auto* node : writes) {
    if (node->s(c10::attr::name) == "training") return true;
  }
  return false;
}

int64_t resolve_in_graph(std::shared_ptr<Graph> graph_ptr) {
  Graph& graph = *graph_ptr;
  if (writes_training(graph)) return 0;
  std::vector<Node*> reads;
  collect(graph.block(), c10::prim::GetAttr, reads);
  int64_t replaced = 0;
  Value* constant_false = nullptr;
  for (auto* node : reads) {
    if (!is_training_read(node)) continue;
    if (!constant_false) {
      torch::jit::WithInsertPoint at_start(graph.block()->nodes().front());
      constant_false = graph.insertConstant(false);
    }
    node->output()->replaceAllUsesWith(constant_false);
    node->destroy();
    ++replaced;
  }
  if (replaced == 0) return 0;
  // An inlined body passes the flag on to the functions it calls, so those are inlined too.
  inline_function_calls(graph, [&](const Node* call, torch::jit::GraphFunction&) {
    const auto inputs = call->inputs();
    return std::find(inputs.begin(), inputs.end(), constant_false) != inputs.end();
  });
  torch::jit::ConstantPropagation(graph_ptr);
  // Dropout with a false flag is the identity; left in, it would end the INT8 chain (MobileNetV3's
  // and EfficientNet's classifiers: a dequantize before it and a quantize after).
  remove_inactive_dropouts(graph);
  torch::jit::EliminateDeadCode(graph_ptr);
  return replaced;
}

}  // namespace

int64_t resolve_inference_branches(torch::jit::Module& module) {
  int64_t replaced = 0;
  for (const auto& submodule : module.modules()) {
    for (const auto& method : submodule.get_methods()) replaced += resolve_in_graph(method.graph());
  }
  return replaced;
}

}  // namespace mopt::quant
