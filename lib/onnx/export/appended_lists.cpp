#include "lib/onnx/export/appended_lists.h"

#include <set>
#include <string>
#include <vector>

#include "lib/model/graph_walk.h"

namespace mopt::onnx_export {
namespace {

using torch::jit::Node;
using torch::jit::Value;

bool reads_only(const Node* node) {
  static const std::set<std::string> kinds = {"aten::cat", "aten::stack", "aten::len", "aten::__getitem__",
                                              "quantized::cat", "prim::ListUnpack"};
  return kinds.count(node->kind().toQualString()) > 0;
}

bool is_append_to(const Node* node, const Value* list) {
  return node->kind() == c10::aten::append && node->input(0) == list && !node->output()->hasUses();
}

// Every use is an append or a read, in the list's own block, and appends take the list itself.
bool rewritable(const Node* construct) {
  const Value* list = construct->output();
  bool appended = false;
  for (const auto& use : list->uses()) {
    if (use.user->owningBlock() != construct->owningBlock()) return false;
    if (is_append_to(use.user, list)) appended = true;
    else if (!reads_only(use.user)) return false;
  }
  return appended;
}

}  // namespace

int64_t materialize_appended_lists(torch::jit::Graph& graph) {
  std::vector<Node*> constructs;
  for (auto* node : all_nodes(graph.block())) {
    if (node->kind() == c10::prim::ListConstruct && rewritable(node)) constructs.push_back(node);
  }
  for (Node* construct : constructs) {
    Value* list = construct->output();
    std::vector<Value*> elements(construct->inputs().begin(), construct->inputs().end());
    std::vector<Node*> appends;
    // The block's nodes are in execution order: walk from the construction on.
    for (Node* node = construct->next(); node != construct->owningBlock()->return_node(); node = node->next()) {
      if (is_append_to(node, list)) {
        elements.push_back(node->input(1));
        appends.push_back(node);
        continue;
      }
      for (size_t i = 0; i < node->inputs().size(); ++i) {
        if (node->input(i) != list) continue;
        torch::jit::WithInsertPoint guard(node);
        node->replaceInput(i, graph.insertNode(graph.createList(list->type()->expectRef<c10::ListType>().getElementType(), elements))->output());
      }
    }
    for (Node* append : appends) append->destroy();
    if (!list->hasUses()) construct->destroy();
  }
  return static_cast<int64_t>(constructs.size());
}

}  // namespace mopt::onnx_export
