#include "lib/onnx/import/graph_validation.h"

#include <fmt/format.h>
#include <onnx/defs/schema.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "lib/errors.h"
#include "lib/onnx/graph_utils.h"
#include "lib/onnx/import/converter_table.h"
#include "lib/onnx/onnx_tensors.h"

namespace mopt::onnx_import {
namespace {

std::string node_label(const onnx::NodeProto& node, int index) {
  return node.name().empty() ? fmt::format("#{} ({})", index, node.op_type())
                             : fmt::format("'{}' ({})", node.name(), node.op_type());
}

void check_initializers(const onnx::GraphProto& graph) {
  for (const auto& init : graph.initializer()) {
    if (init.data_location() == onnx::TensorProto::EXTERNAL) continue;  // constant_values() explains
    auto mismatch = tensor_data_mismatch(init);
    if (!mismatch.empty()) throw invalid_input(fmt::format("initializer '{}': {}", init.name(), mismatch));
  }
}

// The float8, 4-bit and 2-bit element types (opsets 19-24) have no LibTorch tensor type mopt could
// compute in; a model that holds them is refused by the type's name before anything converts.
bool is_narrow_type(int32_t type) { return type >= onnx::TensorProto::FLOAT8E4M3FN && type <= onnx::TensorProto::INT2; }

void check_element_types(const onnx::GraphProto& graph) {
  auto refuse = [](int32_t type, const std::string& where) {
    throw invalid_input(fmt::format(
        "{} has element type {}: mopt imports no float8, 4-bit or 2-bit tensors (LibTorch does not compute in them); "
        "export the model in float32 or int8",
        where, onnx::TensorProto::DataType_Name(static_cast<onnx::TensorProto::DataType>(type))));
  };
  auto check_value = [&](const onnx::ValueInfoProto& value, const char* kind) {
    const auto type = value.type().tensor_type().elem_type();
    if (is_narrow_type(type)) refuse(type, fmt::format("{} '{}'", kind, value.name()));
  };
  for (const auto& value : graph.input()) check_value(value, "graph input");
  for (const auto& value : graph.output()) check_value(value, "graph output");
  for (const auto& value : graph.value_info()) check_value(value, "value");
  for (const auto& init : graph.initializer()) {
    if (is_narrow_type(init.data_type())) refuse(init.data_type(), fmt::format("initializer '{}'", init.name()));
  }
  for (int i = 0; i < graph.node_size(); ++i) {
    const auto& node = graph.node(i);
    for (const auto& attribute : node.attribute()) {
      const bool cast_to = attribute.name() == "to" || attribute.name() == "output_dtype";
      if (cast_to && attribute.type() == onnx::AttributeProto::INT && is_narrow_type(static_cast<int32_t>(attribute.i()))) {
        refuse(static_cast<int32_t>(attribute.i()), fmt::format("node {}'s {}", node_label(node, i), attribute.name()));
      }
      if (attribute.has_t() && is_narrow_type(attribute.t().data_type())) {
        refuse(attribute.t().data_type(), fmt::format("node {}'s {}", node_label(node, i), attribute.name()));
      }
    }
  }
}

}  // namespace

int64_t model_opset(const onnx::ModelProto& model) {
  for (const auto& import : model.opset_import()) {
    if (import.domain().empty() || import.domain() == "ai.onnx") return import.version();
  }
  if (model.opset_import_size() == 0) return 1;  // IR v1-v2 models imply opset 1
  throw invalid_input("the model imports no ai.onnx opset");
}

std::vector<int> topological_order(const onnx::GraphProto& graph, bool reads_enclosing_scope) {
  std::unordered_set<std::string> defined;
  for (const auto& input : graph.input()) defined.insert(input.name());
  for (const auto& init : graph.initializer()) defined.insert(init.name());
  std::unordered_map<std::string, int> producer;
  for (int i = 0; i < graph.node_size(); ++i) {
    for (const auto& output : graph.node(i).output()) {
      if (output.empty()) continue;
      if (defined.count(output) || !producer.emplace(output, i).second) {
        throw invalid_input(fmt::format("value '{}' is defined twice (again by node {})", output,
                                        node_label(graph.node(i), i)));
      }
    }
  }
  for (int i = 0; i < graph.node_size(); ++i) {
    for (const auto& input : graph.node(i).input()) {
      if (!input.empty() && !defined.count(input) && !producer.count(input) && !reads_enclosing_scope) {
        throw invalid_input(fmt::format("node {} reads '{}', which no node, input or initializer defines",
                                        node_label(graph.node(i), i), input));
      }
    }
  }
  // Kahn's algorithm, taking ready nodes in file order so a sorted graph keeps its order.
  std::vector<int> pending(graph.node_size(), 0);
  std::unordered_map<std::string, std::vector<int>> readers;
  for (int i = 0; i < graph.node_size(); ++i) {
    std::set<std::string> waits;
    for (const auto& input : graph.node(i).input()) {
      if (producer.count(input)) waits.insert(input);
    }
    for (const auto& captured : node_subgraph_references(graph.node(i))) {  // an If branch reading outer values
      if (producer.count(captured)) waits.insert(captured);
    }
    pending[i] = static_cast<int>(waits.size());
    for (const auto& value : waits) readers[value].push_back(i);
  }
  std::set<int> ready;
  for (int i = 0; i < graph.node_size(); ++i) {
    if (pending[i] == 0) ready.insert(i);
  }
  std::vector<int> order;
  while (!ready.empty()) {
    int i = *ready.begin();
    ready.erase(ready.begin());
    order.push_back(i);
    for (const auto& output : graph.node(i).output()) {
      for (int reader : readers[output]) {
        if (--pending[reader] == 0) ready.insert(reader);
      }
    }
  }
  if (static_cast<int>(order.size()) != graph.node_size()) {
    std::vector<std::string> stuck;
    for (int i = 0; i < graph.node_size() && stuck.size() < 5; ++i) {
      if (pending[i] > 0) stuck.push_back(node_label(graph.node(i), i));
    }
    throw invalid_input(fmt::format("the graph has a cycle through node(s) {}", fmt::join(stuck, ", ")));
  }
  return order;
}

namespace {

// Declared ranks (graph inputs, value_info, initializers): what ONNX's inference starts from.
std::map<std::string, int> declared_ranks(const onnx::GraphProto& graph) {
  std::map<std::string, int> ranks;
  auto record = [&](const onnx::ValueInfoProto& info) {
    if (info.type().has_tensor_type() && info.type().tensor_type().has_shape()) {
      ranks[info.name()] = info.type().tensor_type().shape().dim_size();
    }
  };
  for (const auto& info : graph.input()) record(info);
  for (const auto& info : graph.value_info()) record(info);
  for (const auto& init : graph.initializer()) ranks[init.name()] = init.dims_size();
  return ranks;
}

// The ranks the ONNX spec fixes for an operator's first inputs, where ONNX 1.12's shape inference
// reads their dims without checking them. Found by fuzzing and by a sweep of declared input ranks
// 0..5 over every default-domain operator at opsets 6, 7, 9, 11, 13 and 17 (opset 6's recurrent
// ops and Gemm crashed; convolutions are checked below).
const std::map<std::string, std::vector<int>> kFixedInputRanks = {
    {"Gemm", {2, 2}}, {"RNN", {3, 3, 3}}, {"GRU", {3, 3, 3}}, {"LSTM", {3, 3, 3}}};

// Which input of a convolution holds the weight (the data is input 0); 0 for other ops.
int conv_weight_index(const std::string& op_type) {
  if (op_type == "Conv" || op_type == "ConvInteger" || op_type == "ConvTranspose") return 1;
  if (op_type == "QLinearConv") return 3;
  return 0;
}

// ONNX 1.12's MaxUnpool inference (two inputs) reads dim 1 of the indices' shape unchecked once the
// data has a shape (fuzzing found a SEGV on indices declared without one). Safe when the indices
// have a declared rank of at least 2, or are the indices output of the MaxPool whose values are the
// data (ONNX infers both shapes of a MaxPool together).
void check_max_unpool_indices(const onnx::GraphProto& graph, const onnx::NodeProto& node, int index,
                              int indices_rank) {
  if (indices_rank >= 2) return;
  for (const auto& pool : graph.node()) {
    if (pool.op_type() == "MaxPool" && pool.output_size() == 2 && pool.output(1) == node.input(1) &&
        pool.output(0) == node.input(0)) {
      return;
    }
  }
  throw invalid_input(fmt::format("node {}: MaxUnpool's indices '{}' have no known shape of rank 2 or more; declare "
                                  "their shape, or take them with the data from one MaxPool",
                                  node_label(node, index), node.input(1)));
}

// One Einsum term: letters, with at most one "..." among them.
bool is_einsum_term(const std::string& term) {
  const auto dots = term.find("...");
  if (dots != std::string::npos && term.find('.', dots + 3) != std::string::npos) return false;
  for (size_t k = 0; k < term.size(); ++k) {
    const bool in_ellipsis = dots != std::string::npos && k >= dots && k < dots + 3;
    if (!in_ellipsis && !std::isalpha(static_cast<unsigned char>(term[k]))) return false;
  }
  return true;
}

// "ij,jk->ik", spaces allowed: one term per input joined by ',', then an optional "->" output term.
bool is_einsum_equation(std::string equation, int inputs) {
  equation.erase(std::remove(equation.begin(), equation.end(), ' '), equation.end());
  const auto arrow = equation.find("->");
  const std::string left = equation.substr(0, arrow);
  if (arrow != std::string::npos && !is_einsum_term(equation.substr(arrow + 2))) return false;
  int terms = 0;
  size_t start = 0;
  while (true) {
    const auto comma = left.find(',', start);
    if (!is_einsum_term(left.substr(start, comma == std::string::npos ? std::string::npos : comma - start))) return false;
    ++terms;
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return terms == inputs;
}

// The checks of check_node_schemas on one graph, then on its nodes' subgraphs (If branches).
void check_graph_node_schemas(const onnx::GraphProto& graph, int opset) {
  const auto ranks = declared_ranks(graph);
  auto rank_of = [&](const std::string& name) { auto it = ranks.find(name); return it == ranks.end() ? -1 : it->second; };
  for (int i = 0; i < graph.node_size(); ++i) {
    const auto& node = graph.node(i);
    if (!node.domain().empty() && node.domain() != "ai.onnx") continue;
    const auto* schema = onnx::OpSchemaRegistry::Schema(node.op_type(), opset, "");
    if (schema == nullptr) continue;  // unsupported_ops() names it
    try {
      schema->Verify(node);
    } catch (const std::exception& e) {
      std::string why = e.what();
      throw invalid_input(fmt::format("node {} does not match the {} operator at opset {}: {}", node_label(node, i),
                                      node.op_type(), opset, why.substr(0, why.find('\n'))));
    }
    // ONNX 1.12's inference reads these inputs' dims unchecked (a SEGV on a rank-1 Gemm B).
    const auto fixed = kFixedInputRanks.find(node.op_type());
    if (fixed != kFixedInputRanks.end()) {
      const auto& expected = fixed->second;
      for (int k = 0; k < std::min(node.input_size(), static_cast<int>(expected.size())); ++k) {
        const int rank = rank_of(node.input(k));
        if (rank >= 0 && rank != expected[static_cast<size_t>(k)]) {
          throw invalid_input(fmt::format("node {}: {}'s input '{}' has rank {}; the operator takes rank {} there",
                                          node_label(node, i), node.op_type(), node.input(k), rank,
                                          expected[static_cast<size_t>(k)]));
        }
      }
    }
    // ONNX 1.23's Einsum inference never returns on some equations outside its grammar (fuzzing
    // found two hangs), so the grammar is checked first.
    if (node.op_type() == "Einsum") {
      for (const auto& attribute : node.attribute()) {
        if (attribute.name() == "equation" && !is_einsum_equation(attribute.s(), node.input_size())) {
          throw invalid_input(fmt::format("node {}: '{}' is not an Einsum equation (terms of letters with at most "
                                          "one '...', one per input, joined by ',', then an optional '->' term)",
                                          node_label(node, i), attribute.s()));
        }
      }
    }
    if (node.op_type() == "MaxUnpool" && node.input_size() == 2) {
      check_max_unpool_indices(graph, node, i, rank_of(node.input(1)));
    }
    // ONNX 1.12's convolution inference reads input dims unchecked: ConvTranspose's weight dim 1 (a
    // SEGV on a rank-0 weight), and one input dim per weight dim past 2 (a SEGV when the input has
    // a lower rank than the weight; fuzzing found both).
    const int w_index = conv_weight_index(node.op_type());
    if (w_index > 0 && node.input_size() > w_index) {
      const int x = rank_of(node.input(0)), w = rank_of(node.input(w_index));
      if (w >= 0 && (w < 3 || (x >= 0 && x != w))) {
        throw invalid_input(fmt::format("node {}: its weight '{}' has rank {} and its input '{}' rank {}; {} needs a "
                                        "weight of the input's rank (at least 3)",
                                        node_label(node, i), node.input(w_index), w, node.input(0), x, node.op_type()));
      }
    }
    for (const auto* sub : subgraphs_of(node)) check_graph_node_schemas(*sub, opset);
  }
}

// ONNX's scoping: every value a subgraph's node reads is defined in that subgraph or in a graph
// enclosing it (`visible`); each subgraph also has a topological order of its own.
void check_subgraph_scopes(const onnx::GraphProto& graph, std::unordered_set<std::string> visible, bool nested) {
  for (const auto& input : graph.input()) visible.insert(input.name());
  for (const auto& init : graph.initializer()) visible.insert(init.name());
  for (const auto& node : graph.node()) visible.insert(node.output().begin(), node.output().end());
  for (const auto& output : graph.output()) {
    if (nested && !visible.count(output.name())) {
      throw invalid_input(fmt::format("subgraph '{}' has output '{}', which neither it nor an enclosing graph defines",
                                      graph.name(), output.name()));
    }
  }
  for (int i = 0; i < graph.node_size(); ++i) {
    const auto& node = graph.node(i);
    for (const auto& input : node.input()) {
      if (nested && !input.empty() && !visible.count(input)) {
        throw invalid_input(fmt::format("node {} of subgraph '{}' reads '{}', which neither it nor an enclosing graph defines",
                                        node_label(node, i), graph.name(), input));
      }
    }
    for (const auto* sub : subgraphs_of(node)) {
      topological_order(*sub, /*reads_enclosing_scope=*/true);
      check_subgraph_scopes(*sub, visible, /*nested=*/true);
    }
  }
}

}  // namespace

void check_node_schemas(const onnx::ModelProto& model) { check_graph_node_schemas(model.graph(), static_cast<int>(model_opset(model))); }

void validate_graph(const onnx::ModelProto& model) {
  if (!model.has_graph()) throw invalid_input("the ONNX model has no graph");
  auto opset = model_opset(model);
  if (opset < kMinOpset || opset > kMaxOpset) {
    throw invalid_input(fmt::format("opset {} is outside what mopt imports ({}..{}); convert the model with "
                                    "onnx.version_converter first",
                                    opset, kMinOpset, kMaxOpset));
  }
  const auto& graph = model.graph();
  check_element_types(graph);
  check_initializers(graph);
  check_node_schemas(model);
  topological_order(graph);
  check_subgraph_scopes(graph, {}, /*nested=*/false);
  std::unordered_set<std::string> defined;
  for (const auto& input : graph.input()) defined.insert(input.name());
  for (const auto& init : graph.initializer()) defined.insert(init.name());
  for (const auto& node : graph.node()) defined.insert(node.output().begin(), node.output().end());
  defined.erase("");  // an empty name is an optional output left out, never a value
  for (const auto& output : graph.output()) {
    if (!defined.count(output.name())) {
      throw invalid_input(fmt::format("graph output '{}' is not produced by any node", output.name()));
    }
  }
  for (const auto& input : graph.input()) {
    if (input.type().has_tensor_type() || defined.count(input.name()) == 0) continue;
    if (!find_initializer(graph, input.name())) {
      throw invalid_input(fmt::format("graph input '{}' is not a tensor (sequences, maps and optionals are not "
                                      "supported)",
                                      input.name()));
    }
  }
}

}  // namespace mopt::onnx_import
