#include "lib/onnx/constant_folding.h"

#include <map>
#include <set>
#include <string>
#include <vector>

#include "lib/onnx/graph_utils.h"
#include "lib/onnx/import/node_evaluator.h"
#include "lib/onnx/onnx_tensors.h"

namespace mopt {
namespace {

bool has_subgraph(const onnx::NodeProto& node) {
  for (const auto& attr : node.attribute()) {
    if (attr.has_g() || attr.graphs_size() > 0) return true;
  }
  return false;
}

// Ops whose value is not a function of their inputs: evaluating them once would freeze one draw.
bool is_random(const onnx::NodeProto& node) {
  static const std::set<std::string> kRandom = {"RandomNormal", "RandomUniform", "RandomNormalLike",
                                                "RandomUniformLike", "Multinomial", "Bernoulli"};
  return node.domain().empty() && kRandom.count(node.op_type()) > 0;
}

bool is_quantization(const onnx::NodeProto& node) {
  return is_onnx_op(node, "QuantizeLinear") || is_onnx_op(node, "DequantizeLinear") ||
         is_onnx_op(node, "DynamicQuantizeLinear");
}

using Fixed = std::map<std::string, const onnx::TensorProto*>;
using Known = std::map<std::string, at::Tensor>;

class GraphFolder {
 public:
  GraphFolder(onnx::ModelProto& model, const FoldOptions& options, FoldStats& stats)
      : model_(model),
        options_(options),
        stats_(stats),
        opset_(default_opset(model)),
        // Below IR version 4 every initializer must also be a graph input, which a body has no way to say.
        fold_bodies_(model.ir_version() >= 4) {}

  // `outer_fixed`, `outer_known`: the enclosing graphs' initializers (decoded on first use) and their
  // Constant and folded values (both empty for the main graph).
  void fold(onnx::GraphProto& graph, const Fixed& outer_fixed, const Known& outer_known, bool is_main) {
    const auto read_before = read_names(graph);
    Fixed fixed = outer_fixed;
    Known known = outer_known;
    for (const auto& tensor : graph.initializer()) fixed[tensor.name()] = &tensor;
    for (const auto& input : graph.input()) {  // overridable defaults, loop state
      fixed.erase(input.name());
      known.erase(input.name());
    }
    auto lookup = [&](const std::string& name) -> const at::Tensor* {
      auto it = known.find(name);
      if (it != known.end()) return &it->second;
      auto init = fixed.find(name);
      if (init == fixed.end()) return nullptr;
      auto tensor = tensor_to_torch(*init->second);
      if (!tensor) return nullptr;
      return &(known[name] = *tensor);
    };

    // Analyze: evaluate in stored (topological) order so a folded value can feed the next node.
    std::vector<bool> folded(graph.node_size(), false);
    for (int n = 0; n < graph.node_size(); ++n) {
      const auto& node = graph.node(n);
      const bool is_constant = is_onnx_op(node, "Constant");
      if (has_subgraph(node) || (options_.keep_quantization && is_quantization(node))) continue;
      if (is_random(node)) {
        ++stats_.skipped_unsupported;
        continue;
      }
      if (node.input_size() == 0 && !is_constant) continue;
      std::vector<at::Tensor> inputs;
      bool all_known = true;
      int64_t input_elements = 0;
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
        input_elements += value->numel();
      }
      if (!all_known) continue;
      auto outputs = evaluate_onnx_node(node, inputs, opset_);
      if (!outputs) {
        ++stats_.skipped_unsupported;
        continue;
      }
      bool fits = true;
      for (const auto& t : *outputs) {
        if (is_constant || !t.defined()) continue;
        fits = fits && (options_.max_size <= 0 || t.numel() <= options_.max_size);
        fits = fits && (!options_.no_growth || t.numel() <= std::max<int64_t>(input_elements, kGrowthFloor));
      }
      if (!fits) {
        ++stats_.skipped_too_large;
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
      if (!needed && unread) ++stats_.unread_removed;
      for (const auto& name : node.output()) {
        if (!name.empty() && read_at_runtime(name)) created.push_back(torch_to_tensor(known.at(name), name));
      }
    }
    stats_.nodes_folded += static_cast<int64_t>(doomed.size());
    if (!is_main) stats_.subgraph_nodes_folded += static_cast<int64_t>(doomed.size());
    stats_.initializers_created += static_cast<int64_t>(created.size());
    remove_nodes(graph, doomed);
    if (is_main) {
      for (auto& tensor : created) add_initializer(model_, std::move(tensor));
    } else if (!created.empty()) {
      // In a body a folded value becomes a Constant node, first in the body: ONNX's type inference
      // types a body's Constant outputs, but not a body's own initializers.
      google::protobuf::RepeatedPtrField<onnx::NodeProto> nodes;
      for (auto& tensor : created) {
        auto* constant = nodes.Add();
        constant->set_op_type("Constant");
        constant->set_name(tensor.name() + "_folded");
        constant->add_output(tensor.name());
        auto* value = constant->add_attribute();
        value->set_name("value");
        value->set_type(onnx::AttributeProto::TENSOR);
        tensor.clear_name();
        *value->mutable_t() = std::move(tensor);
      }
      for (auto& node : *graph.mutable_node()) *nodes.Add() = std::move(node);
      graph.mutable_node()->Swap(&nodes);
    }

    if (fold_bodies_) {
      // A body reads this graph's initializers (as they are now) and every value known here.
      Fixed inner = outer_fixed;
      for (const auto& tensor : graph.initializer()) inner[tensor.name()] = &tensor;
      for (const auto& input : graph.input()) inner.erase(input.name());
      for (auto& node : *graph.mutable_node()) {
        for (auto& attr : *node.mutable_attribute()) {
          if (attr.has_g()) fold(*attr.mutable_g(), inner, known, false);
          for (auto& body : *attr.mutable_graphs()) fold(body, inner, known, false);
        }
      }
    }
    // After the bodies: a weight only a folded branch node read is no longer read at all.
    stats_.initializers_removed += remove_unused_initializers(graph, &read_before);
    prune_value_info(graph);
  }

 private:
  onnx::ModelProto& model_;
  const FoldOptions& options_;
  FoldStats& stats_;
  int64_t opset_;
  bool fold_bodies_;
};

}  // namespace

FoldStats fold_constants(onnx::ModelProto& model, const FoldOptions& options) {
  FoldStats stats;
  GraphFolder(model, options, stats).fold(*model.mutable_graph(), {}, {}, true);
  return stats;
}

}  // namespace mopt
