#pragma once
// Builds small ONNX graphs in C++ for golden pass tests, in the style of ONNX Runtime's
// graph_transform_test_builder.h: declare inputs/initializers/nodes/outputs, build, transform,
// count ops, compare numbers.
#include <onnx/checker.h>
#include <onnx/onnx_pb.h>
#include <torch/script.h>

#include <string>
#include <vector>

#include "lib/onnx/graph_utils.h"

namespace mopt::testing {

/// Fluent builder for a single-graph ONNX model (default domain only).
class OnnxGraphBuilder {
 public:
  /// IR version 8 / opset 13 by default: axes are inputs for Unsqueeze/Squeeze.
  explicit OnnxGraphBuilder(int64_t opset = 13, int64_t ir_version = 8) {
    model_.set_ir_version(ir_version);
    model_.set_producer_name("mopt-tests");
    auto* import = model_.add_opset_import();
    import->set_domain("");
    import->set_version(opset);
    model_.mutable_graph()->set_name("test");
  }

  /// A float (or `elem_type`) graph input. onnx::checker (1.12) needs a shape on graph inputs and
  /// outputs; an empty shape declares a scalar.
  OnnxGraphBuilder& input(const std::string& name, const std::vector<int64_t>& shape = {},
                          int32_t elem_type = onnx::TensorProto::FLOAT) {
    fill_value_info(*model_.mutable_graph()->add_input(), name, shape, elem_type);
    return *this;
  }

  /// A graph output.
  OnnxGraphBuilder& output(const std::string& name, const std::vector<int64_t>& shape = {},
                           int32_t elem_type = onnx::TensorProto::FLOAT) {
    fill_value_info(*model_.mutable_graph()->add_output(), name, shape, elem_type);
    return *this;
  }

  /// An initializer holding `value` (any dtype ONNX can store).
  OnnxGraphBuilder& initializer(const std::string& name, const at::Tensor& value) {
    *model_.mutable_graph()->add_initializer() = torch_to_tensor(value, name);
    return *this;
  }

  /// Appends a node (callers add nodes in topological order); returned to attach attributes.
  onnx::NodeProto& node(const std::string& op, const std::vector<std::string>& inputs,
                        const std::vector<std::string>& outputs) {
    auto* node = model_.mutable_graph()->add_node();
    node->set_op_type(op);
    node->set_name(op + "_" + std::to_string(model_.graph().node_size()));
    for (const auto& name : inputs) node->add_input(name);
    for (const auto& name : outputs) node->add_output(name);
    return *node;
  }

  /// A Constant node whose `value` attribute holds `value`.
  OnnxGraphBuilder& constant(const std::string& output, const at::Tensor& value) {
    auto& n = node("Constant", {}, {output});
    auto* attr = n.add_attribute();
    attr->set_name("value");
    attr->set_type(onnx::AttributeProto::TENSOR);
    *attr->mutable_t() = torch_to_tensor(value, "");
    return *this;
  }

  /// The model built so far (a copy).
  onnx::ModelProto build() const { return model_; }

 private:
  static void fill_value_info(onnx::ValueInfoProto& info, const std::string& name,
                              const std::vector<int64_t>& shape, int32_t elem_type) {
    info.set_name(name);
    auto* type = info.mutable_type()->mutable_tensor_type();
    type->set_elem_type(elem_type);
    auto* dims = type->mutable_shape();
    for (auto d : shape) dims->add_dim()->set_dim_value(d);
  }

  onnx::ModelProto model_;
};

/// Attaches an int attribute.
inline void set_attr(onnx::NodeProto& node, const std::string& name, int64_t value) {
  auto* attr = node.add_attribute();
  attr->set_name(name);
  attr->set_type(onnx::AttributeProto::INT);
  attr->set_i(value);
}

/// Attaches a float attribute.
inline void set_attr_float(onnx::NodeProto& node, const std::string& name, float value) {
  auto* attr = node.add_attribute();
  attr->set_name(name);
  attr->set_type(onnx::AttributeProto::FLOAT);
  attr->set_f(value);
}

/// Attaches a string attribute.
inline void set_attr_string(onnx::NodeProto& node, const std::string& name, const std::string& value) {
  auto* attr = node.add_attribute();
  attr->set_name(name);
  attr->set_type(onnx::AttributeProto::STRING);
  attr->set_s(value);
}

/// Attaches an ints attribute.
inline void set_attr_ints(onnx::NodeProto& node, const std::string& name, const std::vector<int64_t>& values) {
  auto* attr = node.add_attribute();
  attr->set_name(name);
  attr->set_type(onnx::AttributeProto::INTS);
  for (auto v : values) attr->add_ints(v);
}

/// Attaches a graph attribute (an If branch, a Loop body); returns the stored copy.
inline onnx::GraphProto& set_attr_graph(onnx::NodeProto& node, const std::string& name, const onnx::GraphProto& graph) {
  auto* attr = node.add_attribute();
  attr->set_name(name);
  attr->set_type(onnx::AttributeProto::GRAPH);
  *attr->mutable_g() = graph;
  return *attr->mutable_g();
}

/// How many nodes of `op` the graph holds.
inline int count_ops(const onnx::ModelProto& model, const std::string& op) {
  int count = 0;
  for (const auto& node : model.graph().node()) count += node.op_type() == op ? 1 : 0;
  return count;
}

/// The graph output names, in order.
inline std::vector<std::string> output_names(const onnx::ModelProto& model) {
  std::vector<std::string> names;
  for (const auto& output : model.graph().output()) names.push_back(output.name());
  return names;
}

/// The decoded initializer `name`; an undefined tensor when absent.
inline at::Tensor initializer_value(const onnx::ModelProto& model, const std::string& name) {
  const auto* init = find_initializer(model.graph(), name);
  if (!init) return {};
  auto value = tensor_to_torch(*init);
  return value ? *value : at::Tensor();
}

/// Runs onnx::checker::check_model; returns the validation message or empty when valid.
inline std::string check_model_message(const onnx::ModelProto& model) {
  try {
    onnx::checker::check_model(model);
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace mopt::testing
