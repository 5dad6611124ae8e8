#include "passes/quantize/tuple_outputs.h"

#include <vector>

#include "lib/model/graph_walk.h"

namespace mopt::quant {
namespace {

using torch::jit::Node;
using torch::jit::Value;

bool is_none(const Value* value) { return value->type()->kind() == c10::TypeKind::NoneType; }

void collect_tuple_dequantizes(torch::jit::Block* block, std::vector<Node*>& found) {
  for (auto* node : block->nodes()) {
    if (node->kind() == c10::aten::dequantize && node->inputs().size() == 1 &&
        node->input(0)->node()->kind() == c10::prim::TupleConstruct) {
      found.push_back(node);
    }
    for (auto* sub : node->blocks()) collect_tuple_dequantizes(sub, found);
  }
}

}  // namespace

int64_t dequantize_tuple_elements(torch::jit::Graph& graph) {
  std::vector<Node*> found;
  collect_tuple_dequantizes(graph.block(), found);
  int64_t rewritten = 0;
  for (Node* dequantize : found) {
    Node* tuple = dequantize->input(0)->node();
    bool plain = true;
    for (const Value* element : tuple->inputs()) plain = plain && (is_tensor(element) || is_none(element));
    if (!plain) continue;
    torch::jit::WithInsertPoint guard(dequantize);
    std::vector<Value*> elements;
    for (Value* element : tuple->inputs()) {
      elements.push_back(is_tensor(element) ? graph.insert(c10::aten::dequantize, {element}) : element);
    }
    Node* rebuilt = graph.insertNode(graph.createTuple(elements, tuple->output()->type()->expect<c10::TupleType>()));
    dequantize->output()->replaceAllUsesWith(rebuilt->output());
    dequantize->destroy();
    if (!tuple->hasUses()) tuple->destroy();
    ++rewritten;
  }
  return rewritten;
}

}  // namespace mopt::quant
