#include "lib/onnx/import/constant_values.h"

#include <fmt/format.h>

#include "lib/errors.h"
#include "lib/onnx/import/graph_validation.h"
#include "lib/onnx/import/node_context.h"
#include "lib/onnx/onnx_tensors.h"

namespace mopt::onnx_import {
namespace {

at::Tensor decode(const onnx::TensorProto& tensor, const std::string& what) {
  if (tensor.data_location() == onnx::TensorProto::EXTERNAL) {
    throw invalid_input(fmt::format("{} keeps its data in an external file that was not loaded", what));
  }
  auto value = tensor_to_torch(tensor);
  if (!value) {
    std::vector<int64_t> dims(tensor.dims().begin(), tensor.dims().end());
    if (!torch_dtype(tensor.data_type())) {
      throw invalid_input(fmt::format("{} has element type {}, which mopt cannot execute", what,
                                      onnx::TensorProto::DataType_Name(
                                          static_cast<onnx::TensorProto::DataType>(tensor.data_type()))));
    }
    throw invalid_input(fmt::format("{}: its data does not match its dims [{}]", what, fmt::join(dims, ", ")));
  }
  if (is_wide_unsigned(tensor.data_type())) return value->to(at::kLong);  // computed in int64 (compute_dtype)
  return *value;
}

}  // namespace

at::Tensor constant_node_value(const onnx::NodeProto& node) {
  auto what = fmt::format("Constant node '{}'", node.name().empty() ? node.output(0) : node.name());
  for (const auto& attr : node.attribute()) {
    const auto& name = attr.name();
    if (name == "value") return decode(attr.t(), what);
    if (name == "value_float") return at::tensor(static_cast<double>(attr.f()), at::kFloat).reshape({});
    if (name == "value_int") return at::tensor(static_cast<int64_t>(attr.i()), at::kLong).reshape({});
    if (name == "value_floats") {
      std::vector<float> values(attr.floats().begin(), attr.floats().end());
      return at::tensor(values, at::kFloat);
    }
    if (name == "value_ints") {
      std::vector<int64_t> values(attr.ints().begin(), attr.ints().end());
      return at::tensor(values, at::kLong);
    }
    if (name == "sparse_value" || name == "value_string" || name == "value_strings") {
      throw invalid_input(fmt::format("{} holds a {} value, which mopt does not support", what, name));
    }
  }
  throw invalid_input(fmt::format("{} has no value attribute", what));
}

std::unordered_map<std::string, at::Tensor> constant_values(const onnx::GraphProto& graph) {
  std::unordered_map<std::string, at::Tensor> values;
  for (const auto& init : graph.initializer()) {
    values[init.name()] = decode(init, fmt::format("initializer '{}'", init.name()));
  }
  // A subgraph (an If branch) reads its enclosing graph; the importer validated the scopes first.
  for (int index : topological_order(graph, /*reads_enclosing_scope=*/true)) {
    const auto& node = graph.node(index);
    if (!node.domain().empty() || node.output_size() != 1) continue;
    if (node.op_type() == "Constant") {
      values[node.output(0)] = constant_node_value(node);
    } else if (node.op_type() == "Identity" && values.count(node.input(0))) {
      // PyTorch's exporter shares equal initializers through Identity nodes (e.g. conv biases).
      values[node.output(0)] = values.at(node.input(0));
    }
  }
  return values;
}

}  // namespace mopt::onnx_import
