#pragma once
// Small helpers shared by the ONNX graph passes: who consumes a value, which names are pinned
// (graph outputs, outer-scope references), initializer lookup and TensorProto <-> torch::Tensor.
#include <onnx/onnx_pb.h>
#include <torch/script.h>

#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "lib/onnx/onnx_tensors.h"

namespace mopt {

/// One use of a value: node index in graph.node() and the input slot.
struct ValueUse {
  int node;
  int input;
};

/// Value name -> every (node, input slot) in this graph that reads it.
using ConsumerMap = std::map<std::string, std::vector<ValueUse>>;

/// Builds the consumer map of the graph's top-level nodes (empty input names are skipped).
ConsumerMap build_consumers(const onnx::GraphProto& graph);

/// Value name -> index of the top-level node that produces it.
std::map<std::string, int> build_producers(const onnx::GraphProto& graph);

/// Names of the graph outputs: a pass must never rename or drop them.
std::set<std::string> graph_output_names(const onnx::GraphProto& graph);

/// Names of the graph inputs.
std::set<std::string> graph_input_names(const onnx::GraphProto& graph);

/// Every name that any nested subgraph (If/Loop/Scan bodies, at any depth) reads. Those reads are
/// invisible to build_consumers, so passes treat these names as pinned.
std::set<std::string> subgraph_references(const onnx::GraphProto& graph);

/// The graphs a node's attributes hold: If's branches, Loop's and Scan's bodies.
std::vector<const onnx::GraphProto*> subgraphs_of(const onnx::NodeProto& node);

/// Calls `visit` on `graph` and on every If/Loop/Scan body in it, at any depth.
void for_each_onnx_graph(const onnx::GraphProto& graph, const std::function<void(const onnx::GraphProto&)>& visit);

/// Calls `visit` on every node of `graph` and of its bodies, at any depth.
void for_each_onnx_node(const onnx::GraphProto& graph, const std::function<void(const onnx::NodeProto&)>& visit);

/// The names one node's subgraphs read from the enclosing scope (over-approximated).
std::set<std::string> node_subgraph_references(const onnx::NodeProto& node);

/// The node's name, or its first output when it has none (how nodes are named in messages and in
/// the quantizers' skip and fallback lists).
std::string node_label(const onnx::NodeProto& node);

/// True when the node is in the default ONNX domain and has op type `op`.
bool is_onnx_op(const onnx::NodeProto& node, const std::string& op);

/// The initializer called `name`, or nullptr.
const onnx::TensorProto* find_initializer(const onnx::GraphProto& graph, const std::string& name);
onnx::TensorProto* find_initializer(onnx::GraphProto& graph, const std::string& name);

/// The initializer called `name` if its value is fixed: an initializer that is also a graph input
/// is only a default the caller may override, so it is not a constant.
const onnx::TensorProto* find_constant_initializer(const onnx::GraphProto& graph, const std::string& name);

/// A name not used by any value in the graph, derived from `base`.
std::string unique_value_name(const onnx::GraphProto& graph, const std::string& base);

/// Adds an initializer; for IR version < 4 models (where initializers must be graph inputs) it
/// also declares the matching graph input so the model stays valid.
void add_initializer(onnx::ModelProto& model, onnx::TensorProto tensor);

/// Every name read by a node, a subgraph or a graph output.
std::set<std::string> read_names(const onnx::GraphProto& graph);

/// Removes initializers no node, subgraph or graph output reads (and their graph-input
/// declarations, which only existed to give them default values). With `candidates`, only those
/// names may go: a rewrite pass removes what it made unused, not what was unused before.
/// Returns how many went.
int remove_unused_initializers(onnx::GraphProto& graph, const std::set<std::string>* candidates = nullptr);

/// Drops value_info entries for names nothing defines any more (no node, initializer or graph
/// input/output), so stale shapes cannot confuse later shape inference.
void prune_value_info(onnx::GraphProto& graph);

/// The model's opset version for the default ONNX domain (1 when not imported).
int64_t default_opset(const onnx::ModelProto& model);

/// Tensor types (element type and, where known, shape) of the graph's inputs, outputs and the
/// values ONNX's own type and shape inference can tell, computed on a copy. A graph inference
/// rejects gives only what it declares: passes rewrite only what they can prove.
std::map<std::string, onnx::TypeProto::Tensor> inferred_tensor_types(const onnx::ModelProto& model);

/// onnx.checker's full check of a model mopt wrote: the structural check, then strict type and shape
/// inference (on a copy). A failure is mopt's own bug: runtime_failure "internal error: {what} does not validate".
void check_model_strictly(const onnx::ModelProto& model, const std::string& what);

/// Removes the top-level nodes whose index is in `doomed`, keeping the others in order.
void remove_nodes(onnx::GraphProto& graph, const std::set<int>& doomed);

}  // namespace mopt
