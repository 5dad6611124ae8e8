#include "lib/onnx/graph_utils.h"

#include <onnx/checker.h>
#include <onnx/shape_inference/implementation.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "lib/errors.h"
#include "lib/onnx/import/graph_validation.h"

namespace mopt {

ConsumerMap build_consumers(const onnx::GraphProto& graph) {
  ConsumerMap consumers;
  for (int n = 0; n < graph.node_size(); ++n) {
    const auto& node = graph.node(n);
    for (int i = 0; i < node.input_size(); ++i) {
      if (!node.input(i).empty()) consumers[node.input(i)].push_back({n, i});
    }
  }
  return consumers;
}

std::map<std::string, int> build_producers(const onnx::GraphProto& graph) {
  std::map<std::string, int> producers;
  for (int n = 0; n < graph.node_size(); ++n) {
    for (const auto& output : graph.node(n).output()) {
      if (!output.empty()) producers[output] = n;
    }
  }
  return producers;
}

std::set<std::string> graph_output_names(const onnx::GraphProto& graph) {
  std::set<std::string> names;
  for (const auto& output : graph.output()) names.insert(output.name());
  return names;
}

std::set<std::string> graph_input_names(const onnx::GraphProto& graph) {
  std::set<std::string> names;
  for (const auto& input : graph.input()) names.insert(input.name());
  return names;
}

std::vector<const onnx::GraphProto*> subgraphs_of(const onnx::NodeProto& node) {
  std::vector<const onnx::GraphProto*> graphs;
  for (const auto& attr : node.attribute()) {
    if (attr.has_g()) graphs.push_back(&attr.g());
    for (const auto& sub : attr.graphs()) graphs.push_back(&sub);
  }
  return graphs;
}

void for_each_onnx_graph(const onnx::GraphProto& graph, const std::function<void(const onnx::GraphProto&)>& visit) {
  visit(graph);
  for (const auto& node : graph.node()) {
    for (const auto* body : subgraphs_of(node)) for_each_onnx_graph(*body, visit);
  }
}

void for_each_onnx_node(const onnx::GraphProto& graph, const std::function<void(const onnx::NodeProto&)>& visit) {
  for_each_onnx_graph(graph, [&](const onnx::GraphProto& g) {
    for (const auto& node : g.node()) visit(node);
  });
}

namespace {

// Collects every name read inside `graph` (a subgraph), including its own outputs: a subgraph
// output may be an outer-scope value passed straight through.
void collect_reads(const onnx::GraphProto& graph, std::set<std::string>& names) {
  for (const auto& node : graph.node()) {
    for (const auto& input : node.input()) {
      if (!input.empty()) names.insert(input);
    }
    for (const auto* sub : subgraphs_of(node)) collect_reads(*sub, names);
  }
  for (const auto& output : graph.output()) names.insert(output.name());
}

}  // namespace

std::set<std::string> node_subgraph_references(const onnx::NodeProto& node) {
  // Over-approximates (a subgraph's own locals are included), which only makes passes more careful.
  std::set<std::string> names;
  for (const auto* sub : subgraphs_of(node)) collect_reads(*sub, names);
  return names;
}

std::set<std::string> subgraph_references(const onnx::GraphProto& graph) {
  std::set<std::string> names;
  for (const auto& node : graph.node()) {
    auto reads = node_subgraph_references(node);
    names.insert(reads.begin(), reads.end());
  }
  return names;
}

std::string node_label(const onnx::NodeProto& node) {
  if (!node.name().empty()) return node.name();
  return node.output_size() ? node.output(0) : node.op_type();
}

bool is_onnx_op(const onnx::NodeProto& node, const std::string& op) {
  return node.op_type() == op && (node.domain().empty() || node.domain() == "ai.onnx");
}

const onnx::TensorProto* find_initializer(const onnx::GraphProto& graph, const std::string& name) {
  for (const auto& tensor : graph.initializer()) {
    if (tensor.name() == name) return &tensor;
  }
  return nullptr;
}

onnx::TensorProto* find_initializer(onnx::GraphProto& graph, const std::string& name) {
  for (auto& tensor : *graph.mutable_initializer()) {
    if (tensor.name() == name) return &tensor;
  }
  return nullptr;
}

const onnx::TensorProto* find_constant_initializer(const onnx::GraphProto& graph, const std::string& name) {
  for (const auto& input : graph.input()) {
    if (input.name() == name) return nullptr;
  }
  return find_initializer(graph, name);
}

std::string unique_value_name(const onnx::GraphProto& graph, const std::string& base) {
  std::set<std::string> used = graph_input_names(graph);
  for (const auto& tensor : graph.initializer()) used.insert(tensor.name());
  for (const auto& node : graph.node()) {
    used.insert(node.input().begin(), node.input().end());
    used.insert(node.output().begin(), node.output().end());
  }
  for (const auto& name : subgraph_references(graph)) used.insert(name);
  if (!used.count(base)) return base;
  for (int i = 1;; ++i) {
    auto candidate = fmt::format("{}_{}", base, i);
    if (!used.count(candidate)) return candidate;
  }
}

void add_initializer(onnx::ModelProto& model, onnx::TensorProto tensor) {
  auto& graph = *model.mutable_graph();
  if (model.ir_version() < 4) {
    auto* input = graph.add_input();
    input->set_name(tensor.name());
    auto* type = input->mutable_type()->mutable_tensor_type();
    type->set_elem_type(tensor.data_type());
    auto* shape = type->mutable_shape();
    for (auto dim : tensor.dims()) shape->add_dim()->set_dim_value(dim);
  }
  *graph.add_initializer() = std::move(tensor);
}

std::set<std::string> read_names(const onnx::GraphProto& graph) {
  std::set<std::string> used = subgraph_references(graph);
  for (const auto& node : graph.node()) used.insert(node.input().begin(), node.input().end());
  for (const auto& output : graph.output()) used.insert(output.name());
  return used;
}

int remove_unused_initializers(onnx::GraphProto& graph, const std::set<std::string>* candidates) {
  const auto used = read_names(graph);
  std::set<std::string> removed;
  auto* inits = graph.mutable_initializer();
  for (int i = inits->size() - 1; i >= 0; --i) {
    const auto& name = inits->Get(i).name();
    if (used.count(name) || (candidates && !candidates->count(name))) continue;
    removed.insert(name);
    inits->DeleteSubrange(i, 1);
  }
  auto* inputs = graph.mutable_input();
  for (int i = inputs->size() - 1; i >= 0; --i) {
    if (removed.count(inputs->Get(i).name())) inputs->DeleteSubrange(i, 1);
  }
  return static_cast<int>(removed.size());
}

void prune_value_info(onnx::GraphProto& graph) {
  auto defined = graph_input_names(graph);
  for (const auto& name : graph_output_names(graph)) defined.insert(name);
  for (const auto& tensor : graph.initializer()) defined.insert(tensor.name());
  for (const auto& [name, node] : build_producers(graph)) defined.insert(name);
  auto* infos = graph.mutable_value_info();
  for (int i = infos->size() - 1; i >= 0; --i) {
    if (!defined.count(infos->Get(i).name())) infos->DeleteSubrange(i, 1);
  }
}

int64_t default_opset(const onnx::ModelProto& model) {
  for (const auto& import : model.opset_import()) {
    if (import.domain().empty() || import.domain() == "ai.onnx") return import.version();
  }
  return 1;
}

void remove_nodes(onnx::GraphProto& graph, const std::set<int>& doomed) {
  if (doomed.empty()) return;
  google::protobuf::RepeatedPtrField<onnx::NodeProto> kept;
  for (int n = 0; n < graph.node_size(); ++n) {
    if (!doomed.count(n)) kept.Add()->Swap(graph.mutable_node(n));
  }
  graph.mutable_node()->Swap(&kept);
}

std::map<std::string, onnx::TypeProto::Tensor> inferred_tensor_types(const onnx::ModelProto& model) {
  onnx::ModelProto copy = model;
  try {
    onnx_import::check_node_schemas(copy);  // ONNX's inference would trust a malformed node
    onnx::shape_inference::InferShapes(copy);
  } catch (const std::exception&) {
    // Only the declared types below.
  }
  std::map<std::string, onnx::TypeProto::Tensor> types;
  auto record = [&](const onnx::ValueInfoProto& info) {
    if (info.type().has_tensor_type()) types[info.name()] = info.type().tensor_type();
  };
  for (const auto& v : copy.graph().input()) record(v);
  for (const auto& v : copy.graph().value_info()) record(v);
  for (const auto& v : copy.graph().output()) record(v);
  return types;
}

void check_model_strictly(const onnx::ModelProto& model, const std::string& what) {
  try {
    onnx::checker::check_model(model);
    onnx::ModelProto inferred = model;
    onnx::shape_inference::InferShapes(inferred, onnx::OpSchemaRegistry::Instance(),
                                       onnx::ShapeInferenceOptions(/*check_type=*/true, /*strict_mode=*/1));
  } catch (const std::exception& e) {
    throw runtime_failure(fmt::format("internal error: {} does not validate: {}", what, e.what()));
  }
}

}  // namespace mopt
