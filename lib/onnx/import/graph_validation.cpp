#include "lib/onnx/import/graph_validation.h"

#include <fmt/format.h>

#include <map>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include "lib/errors.h"
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

}  // namespace

int64_t model_opset(const onnx::ModelProto& model) {
  for (const auto& import : model.opset_import()) {
    if (import.domain().empty() || import.domain() == "ai.onnx") return import.version();
  }
  if (model.opset_import_size() == 0) return 1;  // IR v1-v2 models imply opset 1
  throw invalid_input("the model imports no ai.onnx opset");
}

std::vector<int> topological_order(const onnx::GraphProto& graph) {
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
      if (!input.empty() && !defined.count(input) && !producer.count(input)) {
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

void validate_graph(const onnx::ModelProto& model) {
  if (!model.has_graph()) throw invalid_input("the ONNX model has no graph");
  auto opset = model_opset(model);
  if (opset < kMinOpset || opset > kMaxOpset) {
    throw invalid_input(fmt::format("opset {} is outside what mopt imports ({}..{}); convert the model with "
                                    "onnx.version_converter first",
                                    opset, kMinOpset, kMaxOpset));
  }
  const auto& graph = model.graph();
  check_initializers(graph);
  topological_order(graph);
  std::unordered_set<std::string> defined;
  for (const auto& input : graph.input()) defined.insert(input.name());
  for (const auto& init : graph.initializer()) defined.insert(init.name());
  for (const auto& node : graph.node()) defined.insert(node.output().begin(), node.output().end());
  for (const auto& output : graph.output()) {
    if (!defined.count(output.name())) {
      throw invalid_input(fmt::format("graph output '{}' is not produced by any node", output.name()));
    }
  }
  for (const auto& input : graph.input()) {
    if (input.type().has_tensor_type() || defined.count(input.name()) == 0) continue;
    bool initialized = false;
    for (const auto& init : graph.initializer()) initialized |= init.name() == input.name();
    if (!initialized) {
      throw invalid_input(fmt::format("graph input '{}' is not a tensor (sequences, maps and optionals are not "
                                      "supported)",
                                      input.name()));
    }
  }
}

}  // namespace mopt::onnx_import
