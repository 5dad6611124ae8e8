#include "passes/quantize/inline_calls.h"

#include <torch/csrc/jit/passes/constant_propagation.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>

#include <algorithm>

#include "lib/model/graph_walk.h"

namespace mopt::quant {

bool inline_function_calls(torch::jit::Graph& graph,
                           const std::function<bool(const torch::jit::Node*, torch::jit::GraphFunction&)>& wanted) {
  bool inlined = false;
  for (bool changed = true; changed;) {
    changed = false;
    for (auto* call : all_nodes(graph.block())) {
      if (call->kind() != c10::prim::CallFunction) continue;
      auto function_type = call->input(0)->type()->cast<c10::FunctionType>();
      auto* callee = function_type ? torch::jit::tryToGraphFunction(*function_type->function()) : nullptr;
      if (!callee || !wanted(call, *callee)) continue;
      call->removeInput(0);  // the function constant; inlineCallTo maps the remaining inputs to the callee's
      torch::jit::inlineCallTo(call, callee);
      changed = inlined = true;
      break;  // the node list is stale now
    }
  }
  return inlined;
}

bool inline_calls_computing(std::shared_ptr<torch::jit::Graph> graph, const std::vector<c10::Symbol>& kinds) {
  auto computes = [&](const torch::jit::Node*, torch::jit::GraphFunction& callee) {
    for (auto* node : all_nodes(callee.graph()->block())) {
      if (std::find(kinds.begin(), kinds.end(), node->kind()) != kinds.end()) return true;
    }
    return false;
  };
  if (!inline_function_calls(*graph, computes)) return false;
  torch::jit::ConstantPropagation(graph);
  torch::jit::EliminateDeadCode(graph);
  return true;
}

}  // namespace mopt::quant
