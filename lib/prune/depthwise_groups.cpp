#include "lib/prune/depthwise_groups.h"

#include <fmt/format.h>
#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/ir/ir.h>

#include <functional>

#include "lib/errors.h"

namespace mopt::prune {

using torch::jit::Node;

namespace {

// Index of the `groups` input, or -1 when the node is not a convolution.
int groups_input(const Node* node) {
  const std::string kind = node->kind().toQualString();
  if (kind == "aten::conv1d" || kind == "aten::conv2d" || kind == "aten::conv3d") return 6;
  if (kind == "aten::_convolution") return 8;
  return -1;
}

void for_each_conv(const torch::jit::Module& conv,
                   const std::function<void(torch::jit::GraphFunction&, Node*)>& visit) {
  std::function<void(torch::jit::GraphFunction&, torch::jit::Block*)> walk = [&](auto& function, auto* block) {
    for (Node* node : block->nodes()) {
      if (groups_input(node) >= 0) visit(function, node);
      for (auto* sub : node->blocks()) walk(function, sub);
    }
  };
  for (const auto& method : conv.get_methods()) {
    if (auto* function = torch::jit::tryToGraphFunction(method.function())) walk(*function, function->graph()->block());
  }
}

enum class GroupsSource { kConstant, kWeightSize, kAttribute, kOther };

GroupsSource groups_source(const torch::jit::Module& conv, const Node* node) {
  const Node* from = node->input(groups_input(node))->node();
  const std::string kind = from->kind().toQualString();
  if (kind == "prim::Constant") return GroupsSource::kConstant;
  if (kind == "aten::size") return GroupsSource::kWeightSize;
  if (kind == "prim::GetAttr" && from->input(0) == node->owningGraph()->inputs().at(0) &&
      conv.type()->hasAttribute(from->s(c10::attr::name))) {
    return GroupsSource::kAttribute;
  }
  return GroupsSource::kOther;
}

}  // namespace

bool depthwise_groups_editable(const torch::jit::Module& conv) {
  int convs = 0;
  bool editable = true;
  for_each_conv(conv, [&](torch::jit::GraphFunction&, Node* node) {
    ++convs;
    editable = editable && groups_source(conv, node) != GroupsSource::kOther;
  });
  return convs > 0 && editable;
}

void take_depthwise_groups_from_weight(torch::jit::Module& conv) {
  const auto weight = conv.attr("weight").toTensor();
  for_each_conv(conv, [&](torch::jit::GraphFunction& function, Node* node) {
    const int index = groups_input(node);
    switch (groups_source(conv, node)) {
      case GroupsSource::kConstant: {
        auto& graph = *node->owningGraph();
        torch::jit::WithInsertPoint before(node);
        torch::jit::Value* size = graph.insert(c10::aten::size, {node->input(1), static_cast<int64_t>(0)});
        node->replaceInput(index, size);
        function.clear_optimized_graphs();
        break;
      }
      case GroupsSource::kAttribute:
        conv.setattr(node->input(index)->node()->s(c10::attr::name), weight.size(0));
        break;
      case GroupsSource::kWeightSize:
        break;  // an instance of the same type was rewritten already
      case GroupsSource::kOther:
        throw runtime_failure("cannot rewrite the groups of a depthwise convolution");
    }
  });
}

}  // namespace mopt::prune
