// `eliminate-dead-nodes`: drops nodes and initializers no graph output depends on.
//
// Before:                               After:
//   X -> A -> Y(out)                      X -> A -> Y(out)
//   X -> B -> C      (C read by nobody)
//   W(init) -> D -> E (E read by nobody)
//
// Preconditions: none; a graph where everything is live is left unchanged. Graph inputs are never
// removed (they are the model's interface), even when nothing reads them.
// Liveness: a node is live when one of its outputs is a graph output or is read by a live node
// (including reads from inside a live node's subgraphs). ONNX operators are side-effect free, so
// every other node can go.
#include <fmt/format.h>

#include "lib/onnx/graph_utils.h"
#include "passes/onnx/onnx_passes.h"

namespace mopt {
namespace {

// Names a node reads: its inputs and every outer-scope name its subgraphs read.
std::vector<std::string> reads_of(const onnx::NodeProto& node) {
  std::vector<std::string> names;
  for (const auto& input : node.input()) {
    if (!input.empty()) names.push_back(input);
  }
  for (const auto& name : node_subgraph_references(node)) names.push_back(name);
  return names;
}

class EliminateDeadNodesPass final : public Pass {
 public:
  const PassInfo& info() const override {
    static const PassInfo info{
        "eliminate-dead-nodes",
        "Removes nodes and initializers that no graph output depends on",
        {ModelFormat::kOnnx},
        {}};
    return info;
  }

  PassStats run(Model& model, const PassOptions&, const PassContext&) const override {
    auto& graph = *model.onnx().mutable_graph();
    const int nodes_before = graph.node_size();
    const int initializers_before = graph.initializer_size();
    const auto producers = build_producers(graph);

    // Worklist over values, from the graph outputs backwards; order-independent, so a graph
    // that is not topologically sorted is handled too.
    std::vector<bool> live(graph.node_size(), false);
    std::vector<std::string> work;
    for (const auto& name : graph_output_names(graph)) work.push_back(name);
    while (!work.empty()) {
      auto name = std::move(work.back());
      work.pop_back();
      auto it = producers.find(name);
      if (it == producers.end() || live[it->second]) continue;
      live[it->second] = true;
      for (auto& read : reads_of(graph.node(it->second))) work.push_back(std::move(read));
    }

    std::set<int> doomed;
    for (int n = 0; n < graph.node_size(); ++n) {
      if (!live[n]) doomed.insert(n);
    }
    remove_nodes(graph, doomed);
    const int initializers_removed = remove_unused_initializers(graph);
    prune_value_info(graph);

    PassStats stats;
    stats.rewrites = static_cast<int64_t>(doomed.size()) + initializers_removed;
    stats.details = {{"nodes_before", nodes_before},
                     {"nodes_after", graph.node_size()},
                     {"nodes_removed", doomed.size()},
                     {"initializers_before", initializers_before},
                     {"initializers_removed", initializers_removed}};
    return stats;
  }
};

}  // namespace

std::unique_ptr<Pass> make_onnx_eliminate_dead_nodes_pass() {
  return std::make_unique<EliminateDeadNodesPass>();
}

}  // namespace mopt
