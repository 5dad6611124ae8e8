#include "passes/quantize/upsample_in_float.h"

#include <algorithm>
#include <vector>

namespace mopt::quant {
namespace {

using torch::jit::Block;
using torch::jit::Node;
using torch::jit::Value;

// `value` when a bilinear resize made it and nothing else reads it.
Node* sole_resize(Value* value) {
  Node* node = value->node();
  return node->kind() == c10::aten::upsample_bilinear2d && value->uses().size() == 1 ? node : nullptr;
}

bool raises(const Block* block) {
  return std::any_of(block->nodes().begin(), block->nodes().end(),
                     [](const Node* node) { return node->kind() == c10::prim::RaiseException; });
}

// The resize whose result `dequantize` reads: directly, or as the one output of a prim::If (the
// rank dispatch of F.interpolate when the input's rank is not folded) that only the dequantize
// reads, whose other blocks raise.
Node* resize_read_by(Node* dequantize) {
  Value* input = dequantize->input(0);
  if (Node* resize = sole_resize(input)) return resize;
  Node* branch = input->node();
  if (branch->kind() != c10::prim::If || branch->outputs().size() != 1 || input->uses().size() != 1) return nullptr;
  Node* found = nullptr;
  for (Block* block : branch->blocks()) {
    Node* resize = sole_resize(block->outputs()[0]);
    if (resize && !found && resize->owningBlock() == block) found = resize;
    else if (!raises(block)) return nullptr;
  }
  return found;
}

void collect(Block* block, std::vector<std::pair<Node*, Node*>>& found) {
  for (auto* node : block->nodes()) {
    if (node->kind() == c10::aten::dequantize && node->inputs().size() == 1) {
      if (Node* resize = resize_read_by(node)) found.emplace_back(node, resize);
    }
    for (auto* sub : node->blocks()) collect(sub, found);
  }
}

}  // namespace

int64_t upsample_bilinear_in_float(torch::jit::Graph& graph) {
  std::vector<std::pair<Node*, Node*>> found;
  collect(graph.block(), found);
  for (auto [dequantize, resize] : found) {
    // The dequantize moves before the resize and takes its input; its readers read what it read
    // (the resize, or the branch returning it), which then carries fp32.
    Value* result = dequantize->input(0);
    dequantize->moveBefore(resize);
    dequantize->replaceInput(0, resize->input(0));
    dequantize->output()->replaceAllUsesWith(result);
    resize->replaceInput(0, dequantize->output());
  }
  return static_cast<int64_t>(found.size());
}

}  // namespace mopt::quant
