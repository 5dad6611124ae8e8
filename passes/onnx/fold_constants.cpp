// `fold-constants`: evaluates subgraphs whose inputs are all constants and stores the result as
// one initializer.
//
// Before:                                   After:
//   W(init) -> Transpose -> Mul -> Add <- X    W'(init) -> Add <- X
//   C = Constant ----------^                   where W' = Transpose(W) * C, named like Mul's output
//
// Preconditions (otherwise the node is left alone, silently):
//   - every input is an initializer that is NOT also a graph input (that would be a default the
//     caller may override), the output of a Constant node, or the output of a node folded earlier;
//   - the ONNX importer converts the op (evaluation runs through it: one implementation of each
//     op's semantics for folding and execution); no subgraph attributes; the evaluation succeeds;
//   - every output has at most `max-size` elements (0 = no limit), so folding never bloats a model
//     with a huge materialized tensor.
// Materialization: a folded value becomes an initializer (same name, so readers need no rewiring)
// when a graph output, a node that was not folded, or a subgraph reads it. Folded nodes are
// removed. A Constant node is kept unless every reader of it was folded, so a graph where nothing
// folds is returned unchanged; so is an Identity whose input stays stored anyway (a copy would
// only add bytes). Initializers that become unused are removed.
// Math: the op's own definition, evaluated once at optimization time instead of every inference.
#include <fmt/format.h>

#include "lib/onnx/graph_utils.h"
#include "lib/onnx/import/node_evaluator.h"
#include "passes/onnx/onnx_passes.h"

namespace mopt {
namespace {

bool has_subgraph(const onnx::NodeProto& node) {
  for (const auto& attr : node.attribute()) {
    if (attr.has_g() || attr.graphs_size() > 0) return true;
  }
  return false;
}

class FoldConstantsPass final : public Pass {
 public:
  const PassInfo& info() const override {
    static const PassInfo info{
        "fold-constants",
        "Evaluates subgraphs whose inputs are all initializers/Constants into one initializer",
        {ModelFormat::kOnnx},
        {{"max-size", OptionType::kInt, "16777216",
          "largest tensor (in elements) the pass will materialize; 0 = no limit"}}};
    return info;
  }

  PassStats run(Model& model, const PassOptions& options, const PassContext&) const override {
    const int64_t max_size = options.get_int("max-size");
    auto& proto = model.onnx();
    auto& graph = *proto.mutable_graph();
    const int nodes_before = graph.node_size();
    const int initializers_before = graph.initializer_size();
    const auto read_before = read_names(graph);
    const auto opset = default_opset(proto);

    // Values known at optimization time; initializers are decoded on first use only.
    std::map<std::string, const onnx::TensorProto*> fixed;
    for (const auto& tensor : graph.initializer()) fixed[tensor.name()] = &tensor;
    for (const auto& input : graph.input()) fixed.erase(input.name());  // overridable defaults
    std::map<std::string, at::Tensor> known;
    auto lookup = [&](const std::string& name) -> const at::Tensor* {
      auto it = known.find(name);
      if (it != known.end()) return &it->second;
      auto init = fixed.find(name);
      if (init == fixed.end()) return nullptr;
      auto tensor = tensor_to_torch(*init->second);
      if (!tensor) return nullptr;
      return &(known[name] = *tensor);
    };

    // Analyze: evaluate in topological order so a folded value can feed the next node.
    std::vector<bool> folded(graph.node_size(), false);
    int unsupported = 0;
    int too_large = 0;
    for (int n = 0; n < graph.node_size(); ++n) {
      const auto& node = graph.node(n);
      std::vector<at::Tensor> inputs;
      bool all_known = true;
      for (const auto& name : node.input()) {
        if (name.empty()) {
          inputs.emplace_back();
          continue;
        }
        const auto* value = lookup(name);
        if (!value) {
          all_known = false;
          break;
        }
        inputs.push_back(*value);
      }
      if (!all_known || has_subgraph(node)) continue;
      auto outputs = evaluate_onnx_node(node, inputs, opset);
      if (!outputs) {
        ++unsupported;
        continue;
      }
      const bool is_constant = is_onnx_op(node, "Constant");
      bool fits = true;
      for (const auto& t : *outputs) fits = fits && (is_constant || max_size <= 0 || t.numel() <= max_size);
      if (!fits) {
        ++too_large;
        continue;
      }
      for (int i = 0; i < node.output_size(); ++i) {
        if (!node.output(i).empty()) known[node.output(i)] = (*outputs)[i];
      }
      folded[n] = true;
    }

    // Transform: materialize folded values someone still reads at runtime, drop folded nodes.
    const auto consumers = build_consumers(graph);
    const auto outputs = graph_output_names(graph);
    const auto pinned = subgraph_references(graph);
    auto read_at_runtime = [&](const std::string& name) {
      if (outputs.count(name) || pinned.count(name)) return true;
      auto it = consumers.find(name);
      if (it == consumers.end()) return false;
      for (const auto& use : it->second) {
        if (!folded[use.node]) return true;
      }
      return false;
    };

    std::set<int> doomed;
    std::vector<onnx::TensorProto> created;
    int dead_removed = 0;
    for (int n = 0; n < graph.node_size(); ++n) {
      if (!folded[n]) continue;
      const auto& node = graph.node(n);
      bool needed = false;
      for (const auto& name : node.output()) needed = needed || (!name.empty() && read_at_runtime(name));
      if (is_onnx_op(node, "Constant")) {
        // Only drop a Constant whose readers were all folded; an unread one is dead code, which is
        // eliminate-dead-nodes' business, and touching it would make a no-fold run not a no-op.
        if (!needed && consumers.count(node.output(0))) doomed.insert(n);
        continue;
      }
      // An Identity of a value that stays stored for another runtime reader: keep the node rather
      // than store a second copy (PyTorch's exporter shares a weight between layers this way).
      if (is_onnx_op(node, "Identity") && needed && read_at_runtime(node.input(0))) continue;
      doomed.insert(n);
      bool unread = true;
      for (const auto& name : node.output()) unread = unread && !consumers.count(name);
      if (!needed && unread) ++dead_removed;
      for (const auto& name : node.output()) {
        if (!name.empty() && read_at_runtime(name)) created.push_back(torch_to_tensor(known.at(name), name));
      }
    }
    remove_nodes(graph, doomed);
    for (auto& tensor : created) add_initializer(proto, std::move(tensor));
    const int initializers_removed = remove_unused_initializers(graph, &read_before);
    prune_value_info(graph);

    PassStats stats;
    stats.rewrites = static_cast<int64_t>(created.size()) + dead_removed;
    stats.details = {{"nodes_before", nodes_before},
                     {"nodes_after", graph.node_size()},
                     {"nodes_folded", doomed.size()},
                     {"initializers_before", initializers_before},
                     {"initializers_created", created.size()},
                     {"initializers_removed", initializers_removed},
                     {"skipped_unsupported", unsupported},
                     {"skipped_too_large", too_large}};
    return stats;
  }
};

}  // namespace

std::unique_ptr<Pass> make_onnx_fold_constants_pass() { return std::make_unique<FoldConstantsPass>(); }

}  // namespace mopt
