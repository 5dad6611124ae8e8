// `eliminate-identity`: removes Identity nodes by rerouting their consumers.
//
// Before:                         After:
//   X -> Identity -> Y -> Op        X -> Op
//
// When Y is a graph output its name must survive, so the producer of X is renamed instead:
//   P -> X -> Identity -> Y(out)    P -> Y(out)        (every other reader of X now reads Y)
//
// Preconditions (otherwise the Identity is kept, silently):
//   - default-domain Identity with one input and one output;
//   - Y is not read inside a subgraph (If/Loop bodies read outer names we would have to rewrite);
//   - for a graph-output Y: X comes from a node of this graph (not a graph input or initializer,
//     whose names are part of the interface), X is not itself a graph output and X is not read
//     inside a subgraph.
// Math: none; Identity is y = x for tensors, sequences and optionals alike.
#include <fmt/format.h>

#include "lib/onnx/graph_utils.h"
#include "passes/onnx/onnx_passes.h"

namespace mopt {
namespace {

bool is_plain_identity(const onnx::NodeProto& node) {
  return is_onnx_op(node, "Identity") && node.input_size() == 1 && node.output_size() == 1 &&
         !node.input(0).empty() && !node.output(0).empty();
}

// Renames value `from` to `to` in the producer's outputs and every top-level reader.
void rename_value(onnx::GraphProto& graph, const std::string& from, const std::string& to) {
  for (auto& node : *graph.mutable_node()) {
    for (auto& output : *node.mutable_output()) {
      if (output == from) output = to;
    }
    for (auto& input : *node.mutable_input()) {
      if (input == from) input = to;
    }
  }
}

class EliminateIdentityPass final : public Pass {
 public:
  const PassInfo& info() const override {
    static const PassInfo info{
        "eliminate-identity",
        "Removes Identity nodes, rerouting their consumers (graph output names are kept)",
        {ModelFormat::kOnnx},
        {}};
    return info;
  }

  PassStats run(Model& model, const PassOptions&, const PassContext&) const override {
    auto& graph = *model.onnx().mutable_graph();
    const int nodes_before = graph.node_size();
    const auto outputs = graph_output_names(graph);
    const auto pinned = subgraph_references(graph);
    int removed_inner = 0;
    int renamed_producers = 0;

    // Inner Identities, in topological order: resolving each node's inputs through `alias`
    // before looking at it collapses whole chains (a -> Id -> Id -> b) in one sweep.
    std::map<std::string, std::string> alias;
    std::set<int> doomed;
    for (int n = 0; n < graph.node_size(); ++n) {
      auto& node = *graph.mutable_node(n);
      for (auto& input : *node.mutable_input()) {
        auto it = alias.find(input);
        if (it != alias.end()) input = it->second;
      }
      if (!is_plain_identity(node)) continue;
      const auto& y = node.output(0);
      if (outputs.count(y) || pinned.count(y)) continue;
      alias[y] = node.input(0);
      doomed.insert(n);
      ++removed_inner;
    }
    remove_nodes(graph, doomed);

    // Identities that produce a graph output: rename the producer's value to the output name.
    const auto inputs = graph_input_names(graph);
    for (int n = 0; n < graph.node_size();) {
      const auto& node = graph.node(n);
      if (!is_plain_identity(node) || !outputs.count(node.output(0))) {
        ++n;
        continue;
      }
      const std::string x = node.input(0);
      const std::string y = node.output(0);
      auto producers = build_producers(graph);
      bool renamable = producers.count(x) && !inputs.count(x) && !find_initializer(graph, x) &&
                       !outputs.count(x) && !pinned.count(x);
      if (!renamable) {
        ++n;
        continue;
      }
      graph.mutable_node()->DeleteSubrange(n, 1);
      rename_value(graph, x, y);
      ++renamed_producers;
      // Do not advance: the next node slid into slot n.
    }

    prune_value_info(graph);
    PassStats stats;
    stats.rewrites = removed_inner + renamed_producers;
    int kept = 0;
    for (const auto& node : graph.node()) kept += is_plain_identity(node) ? 1 : 0;
    stats.details = {{"nodes_before", nodes_before},
                     {"nodes_after", graph.node_size()},
                     {"identities_removed", removed_inner + renamed_producers},
                     {"producers_renamed_to_graph_output", renamed_producers},
                     {"identities_kept", kept}};
    return stats;
  }
};

}  // namespace

std::unique_ptr<Pass> make_onnx_eliminate_identity_pass() { return std::make_unique<EliminateIdentityPass>(); }

}  // namespace mopt
