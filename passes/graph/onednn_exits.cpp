#include "passes/graph/onednn_exits.h"

#include <torch/csrc/jit/passes/dead_code_elimination.h>

#include <string>
#include <vector>

#include "lib/model/graph_walk.h"

namespace mopt {
namespace {

using torch::jit::Node;
using torch::jit::Value;

bool only_made_dense(const Value* value) {
  for (const auto& use : value->uses()) {
    if (!is_kind(use.user, "aten::to_dense")) return false;
  }
  return true;
}

// True when every reader of the clamp's result converts it to dense, or pools it and converts that.
bool result_leaves_onednn(const Node* clamp) {
  const Value* result = clamp->output();
  if (result->uses().empty()) return false;
  for (const auto& use : result->uses()) {
    const Node* reader = use.user;
    if (is_kind(reader, "aten::to_dense")) continue;
    if (is_kind(reader, "aten::adaptive_avg_pool2d") && use.offset == 0 && only_made_dense(reader->output())) continue;
    return false;
  }
  return true;
}

// Each aten::to_dense(onednn) is replaced by `dense`, which holds the same values.
void forward_dense_copies(Value* onednn, Value* dense) {
  const auto uses = onednn->uses();  // a copy: the loop destroys readers
  for (const auto& use : uses) {
    if (!is_kind(use.user, "aten::to_dense")) continue;
    use.user->output()->replaceAllUsesWith(dense);
    use.user->destroy();
  }
}

}  // namespace

int64_t clamp_where_graph_leaves_onednn(torch::jit::Graph& graph) {
  std::vector<Node*> clamps;
  for (auto* node : graph.nodes()) {
    // In place: only exact where nothing else reads the clamped tensor.
    if (is_kind(node, "prim::MKLDNNHardTanh_") && node->input(0)->uses().size() == 1 && result_leaves_onednn(node)) {
      clamps.push_back(node);
    }
  }
  for (auto* clamp : clamps) {
    torch::jit::WithInsertPoint guard(clamp);
    Value* dense = graph.insert(c10::Symbol::fromQualString("aten::to_dense"), {clamp->input(0)});
    Value* clamped = graph.insert(c10::Symbol::fromQualString("aten::hardtanh_"),
                                  {dense, clamp->f(c10::Symbol::attr("min_val")), clamp->f(c10::Symbol::attr("max_val"))});
    const auto readers = clamp->output()->uses();
    for (const auto& use : readers) {
      if (!is_kind(use.user, "aten::adaptive_avg_pool2d")) continue;
      Node* pool = use.user;  // now pools the dense copy, so its result is dense already
      forward_dense_copies(pool->output(), pool->output());
      pool->replaceInput(0, clamped);
    }
    forward_dense_copies(clamp->output(), clamped);
    clamp->destroy();
  }
  return static_cast<int64_t>(clamps.size());
}

int64_t read_sizes_without_dense_copy(torch::jit::Graph& graph) {
  int64_t redirected = 0;
  for (auto* node : graph.nodes()) {
    if ((is_kind(node, "aten::size") || is_kind(node, "aten::dim")) && is_kind(node->input(0)->node(), "aten::to_dense")) {
      node->replaceInput(0, node->input(0)->node()->input(0));
      ++redirected;
    }
  }
  torch::jit::EliminateDeadCode(graph.block());
  return redirected;
}

}  // namespace mopt
