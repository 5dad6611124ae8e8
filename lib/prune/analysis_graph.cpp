#include "lib/prune/analysis_graph.h"

#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/passes/constant_propagation.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/inliner.h>

#include <functional>
#include <vector>

namespace mopt::prune {

using torch::jit::Block;
using torch::jit::Node;
using torch::jit::Value;

namespace {

void for_each_node(Block* block, const std::function<void(Node*)>& visit) {
  for (Node* node : block->nodes()) {
    visit(node);
    for (Block* sub : node->blocks()) for_each_node(sub, visit);
  }
}

std::string child_path(const std::string& parent, const std::string& name) {
  return parent.empty() ? name : parent + "." + name;
}

// Replaces reads of plain (non-tensor, non-module) attributes with constants so that constant
// propagation can fold `prim::If` on them.
void inline_plain_attributes(torch::jit::Graph& graph, const torch::jit::Module& module) {
  std::unordered_map<const Value*, c10::IValue> objects{{graph.inputs().at(0), module._ivalue()}};
  std::vector<std::pair<Value*, c10::IValue>> replacements;
  for_each_node(graph.block(), [&](Node* node) {
    if (node->kind() != c10::prim::GetAttr) return;
    const auto owner = objects.find(node->input(0));
    if (owner == objects.end()) return;
    const auto object = owner->second.toObject();
    const auto& name = node->s(c10::attr::name);
    const auto slot = object->type()->findAttributeSlot(name);
    if (!slot) return;
    const auto value = object->getSlot(*slot);
    if (value.isObject()) {
      objects[node->output()] = value;
    } else if (value.isBool() || value.isInt() || value.isDouble() || value.isString()) {
      replacements.emplace_back(node->output(), value);
    }
  });
  torch::jit::WithInsertPoint at_start(graph.block()->nodes().front());
  for (auto& [output, value] : replacements) output->replaceAllUsesWith(graph.insertConstant(value));
}

}  // namespace

const TensorSource* AnalysisGraph::source_of(const Value* value) const {
  const auto found = tensors.find(value);
  return found == tensors.end() ? nullptr : &found->second;
}

AnalysisGraph make_analysis_graph(const torch::jit::Module& module) {
  AnalysisGraph result;
  result.graph = module.get_method("forward").graph()->copy();
  torch::jit::Inline(*result.graph);
  inline_plain_attributes(*result.graph, module);
  torch::jit::ConstantPropagation(result.graph);
  torch::jit::EliminateDeadCode(result.graph);

  // Walk GetAttr chains from `self` so that every weight value knows its owner's dotted path.
  result.modules[result.graph->inputs().at(0)] = "";
  for_each_node(result.graph->block(), [&](Node* node) {
    if (node->kind() != c10::prim::GetAttr) return;
    const auto owner = result.modules.find(node->input(0));
    if (owner == result.modules.end()) return;
    const auto& name = node->s(c10::attr::name);
    const auto type = node->output()->type();
    if (type->cast<c10::ClassType>()) {
      result.modules[node->output()] = child_path(owner->second, name);
    } else if (type->isSubtypeOf(*c10::OptionalType::ofTensor())) {
      result.tensors[node->output()] = {owner->second, name};
    }
  });
  return result;
}

}  // namespace mopt::prune
