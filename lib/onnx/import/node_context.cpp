#include "lib/onnx/import/node_context.h"

#include <fmt/format.h>

#include <cmath>
#include <sstream>

#include "lib/errors.h"
#include "lib/onnx/import/graph_builder.h"
#include "lib/onnx/onnx_tensors.h"

namespace mopt::onnx_import {

NodeContext::NodeContext(GraphBuilder& graph, const onnx::NodeProto& node, int64_t opset)
    : graph_(graph), node_(node), opset_(opset) {}

bool NodeContext::has_input(int i) const { return i < node_.input_size() && !node_.input(i).empty(); }

std::string NodeContext::input(int i) {
  if (!has_input(i)) fail(fmt::format("input {} is required", i));
  return graph_.expression_of(node_.input(i));
}

const at::Tensor* NodeContext::constant(int i) const {
  return has_input(i) ? graph_.constant(node_.input(i)) : nullptr;
}

std::optional<std::vector<int64_t>> NodeContext::constant_ints(int i) const {
  auto* value = constant(i);
  if (!value) return std::nullopt;
  if (value->is_floating_point()) fail(fmt::format("input {} must hold integers", i));
  auto flat = value->reshape({-1}).to(at::kLong).contiguous();
  return std::vector<int64_t>(flat.data_ptr<int64_t>(), flat.data_ptr<int64_t>() + flat.numel());
}

std::string NodeContext::int_list_input(int i) {
  if (auto form = ints_form(i)) return *form;
  return fmt::format("{}({})", helper("_ints"), input(i));
}

std::optional<std::string> NodeContext::ints_form(int i) {
  if (!has_input(i)) return std::nullopt;
  if (auto* value = constant(i)) {
    if (value->dim() != 1 || value->is_floating_point() || value->scalar_type() == at::kBool) return std::nullopt;
    return int_list_literal(*constant_ints(i));
  }
  return graph_.ints_of(node_.input(i));
}

std::optional<std::string> NodeContext::int_form(int i) {
  if (!has_input(i)) return std::nullopt;
  if (auto* value = constant(i)) {
    if (value->dim() != 0 || value->is_floating_point() || value->scalar_type() == at::kBool) return std::nullopt;
    return std::to_string(value->item<int64_t>());
  }
  return graph_.int_of(node_.input(i));
}

void NodeContext::assign_ints(int i, const std::string& expression) {
  if (i < node_.output_size() && !node_.output(i).empty()) graph_.define_ints(node_.output(i), expression, /*scalar=*/false);
}

void NodeContext::assign_int(int i, const std::string& expression) {
  if (i < node_.output_size() && !node_.output(i).empty()) graph_.define_ints(node_.output(i), expression, /*scalar=*/true);
}

int32_t NodeContext::input_elem_type(int i) const {
  if (!has_input(i)) return 0;
  if (auto* value = constant(i)) return onnx_dtype(value->scalar_type()).value_or(0);
  auto* type = graph_.type_of(node_.input(i));
  return type && type->has_tensor_type() ? type->tensor_type().elem_type() : 0;
}

std::optional<std::vector<int64_t>> NodeContext::input_dims(int i) const {
  if (!has_input(i)) return std::nullopt;
  if (auto* value = constant(i)) return value->sizes().vec();
  auto* type = graph_.type_of(node_.input(i));
  if (!type || !type->has_tensor_type() || !type->tensor_type().has_shape()) return std::nullopt;
  std::vector<int64_t> dims;
  for (const auto& dim : type->tensor_type().shape().dim()) dims.push_back(dim.has_dim_value() ? dim.dim_value() : -1);
  return dims;
}

std::optional<int64_t> NodeContext::input_rank(int i) const {
  auto dims = input_dims(i);
  if (!dims) return std::nullopt;
  return static_cast<int64_t>(dims->size());
}

const onnx::AttributeProto* NodeContext::attribute(const std::string& name) const {
  for (const auto& attr : node_.attribute()) {
    if (attr.name() == name) return &attr;
  }
  return nullptr;
}

int64_t NodeContext::attr_int(const std::string& name, int64_t fallback) const {
  auto* attr = attribute(name);
  return attr ? attr->i() : fallback;
}

double NodeContext::attr_float(const std::string& name, double fallback) const {
  auto* attr = attribute(name);
  return attr ? attr->f() : fallback;
}

std::string NodeContext::attr_string(const std::string& name, const std::string& fallback) const {
  auto* attr = attribute(name);
  return attr ? attr->s() : fallback;
}

std::optional<std::vector<int64_t>> NodeContext::attr_ints(const std::string& name) const {
  auto* attr = attribute(name);
  if (!attr) return std::nullopt;
  return std::vector<int64_t>(attr->ints().begin(), attr->ints().end());
}

std::optional<std::vector<double>> NodeContext::attr_floats(const std::string& name) const {
  auto* attr = attribute(name);
  if (!attr) return std::nullopt;
  return std::vector<double>(attr->floats().begin(), attr->floats().end());
}

void NodeContext::require(bool condition, const std::string& what) const {
  if (!condition) fail("unsupported: " + what);
}

bool NodeContext::output_used(int i) const {
  return i < node_.output_size() && !node_.output(i).empty() && graph_.is_used(node_.output(i));
}

std::string NodeContext::output(int i) {
  if (i >= node_.output_size() || node_.output(i).empty()) return temp();
  return graph_.local_for(node_.output(i));
}

void NodeContext::assign(int i, const std::string& expression) { emit(fmt::format("{} = {}", output(i), expression)); }

void NodeContext::emit(const std::string& statement) { graph_.emit(statement); }

void NodeContext::convert_branch(const onnx::GraphProto& branch, const std::vector<std::string>& targets,
                                 const std::vector<std::string>& inputs, const std::vector<std::string>& epilogue) {
  graph_.convert_branch(branch, targets, inputs, epilogue);
}

std::string NodeContext::temp() { return graph_.temp(); }

namespace {

// "/layer1/layer1.0/conv1/Conv" (PyTorch's exporter scopes) -> "layer1.0.conv1".
std::string module_path_of(const std::string& node_name) {
  std::vector<std::string> segments;
  std::string segment;
  for (char ch : node_name + "/") {
    if (ch != '/') {
      segment += ch;
    } else if (!segment.empty()) {
      segments.push_back(segment);
      segment.clear();
    }
  }
  if (segments.size() < 2) return "";
  segments.pop_back();  // the op itself
  std::string path;
  for (const auto& s : segments) {
    if (!path.empty() && s.rfind(path + ".", 0) == 0) path = s;
    else path = path.empty() ? s : path + "." + s;
  }
  return path;
}

bool is_generated_name(const std::string& name) {
  return name.empty() || name.rfind("onnx::", 0) == 0 || name.find_first_not_of("0123456789") == std::string::npos;
}

}  // namespace

std::string NodeContext::add_layer(LayerSpec spec) {
  // Exporters rename folded weights ("onnx::Conv_193"); the node's scope keeps the module's path.
  if (is_generated_name(spec.name_hint)) {
    auto path = module_path_of(node_.name());
    if (!path.empty()) spec.name_hint = path;
  }
  return graph_.add_layer(std::move(spec));
}

std::string NodeContext::add_constant(const at::Tensor& value, const std::string& name_hint) {
  return graph_.add_constant(value, name_hint);
}

std::string NodeContext::add_value(const c10::IValue& value, const std::string& name_hint) {
  return graph_.add_value(value, name_hint);
}

const onnx::NodeProto* NodeContext::sole_reader(int i) const {
  if (i >= node_.output_size() || node_.output(i).empty()) return nullptr;
  return graph_.sole_reader(node_.output(i));
}

std::vector<const onnx::NodeProto*> NodeContext::readers_of(const std::string& value) const {
  return graph_.readers(value);
}

void NodeContext::absorb(const onnx::NodeProto& reader, const std::string& expression) {
  graph_.absorb(reader, reader.output(0), expression);
}

const at::Tensor* NodeContext::constant_of(const std::string& value) const { return graph_.constant(value); }

std::string NodeContext::helper(const std::string& name) { return graph_.helper(name); }

void NodeContext::fail(const std::string& message) const {
  throw invalid_input(fmt::format("{} node '{}' (opset {}): {}", node_.op_type(),
                                  node_.name().empty() ? node_.output_size() ? node_.output(0) : "" : node_.name(),
                                  opset_, message));
}

std::string int_list_literal(const std::vector<int64_t>& values) { return fmt::format("[{}]", fmt::join(values, ", ")); }

std::string float_literal(double value) {
  if (std::isnan(value)) return "float('nan')";
  if (std::isinf(value)) return value > 0 ? "float('inf')" : "float('-inf')";
  std::ostringstream out;
  out.precision(17);
  out << value;
  auto text = out.str();
  if (text.find_first_of(".eE") == std::string::npos) text += ".0";
  return text;
}

bool is_wide_unsigned(int32_t onnx_type) {
  return onnx_type == onnx::TensorProto::UINT16 || onnx_type == onnx::TensorProto::UINT32 ||
         onnx_type == onnx::TensorProto::UINT64;
}

std::optional<at::ScalarType> compute_dtype(int32_t onnx_type) {
  if (is_wide_unsigned(onnx_type)) return at::kLong;
  return torch_dtype(onnx_type);
}

std::string dtype_literal(const NodeContext& context, int32_t onnx_type) {
  auto dtype = compute_dtype(onnx_type);
  if (!dtype) {
    context.fail(fmt::format("unsupported: element type {} has no LibTorch equivalent",
                             onnx::TensorProto::DataType_Name(static_cast<onnx::TensorProto::DataType>(onnx_type))));
  }
  return dtype_code(*dtype);
}

std::string dtype_code(at::ScalarType dtype) { return std::to_string(static_cast<int>(dtype)); }

int64_t normalize_axis(const NodeContext& context, int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank) context.fail(fmt::format("axis {} is out of range for rank {}", axis, rank));
  return axis < 0 ? axis + rank : axis;
}

}  // namespace mopt::onnx_import
