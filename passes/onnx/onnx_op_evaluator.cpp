#include "passes/onnx/onnx_op_evaluator.h"

#include <algorithm>
#include <functional>
#include <map>

#include "passes/onnx/onnx_graph_utils.h"

namespace mopt {
namespace {

using Outputs = std::optional<std::vector<at::Tensor>>;
using Evaluator = std::function<Outputs(const onnx::NodeProto&, const std::vector<at::Tensor>&)>;

const onnx::AttributeProto* find_attr(const onnx::NodeProto& node, const std::string& name) {
  for (const auto& attr : node.attribute()) {
    if (attr.name() == name) return &attr;
  }
  return nullptr;
}

int64_t int_attr(const onnx::NodeProto& node, const std::string& name, int64_t fallback) {
  const auto* attr = find_attr(node, name);
  return attr ? attr->i() : fallback;
}

std::optional<std::vector<int64_t>> ints_attr(const onnx::NodeProto& node, const std::string& name) {
  const auto* attr = find_attr(node, name);
  if (!attr) return std::nullopt;
  return std::vector<int64_t>(attr->ints().begin(), attr->ints().end());
}

std::vector<int64_t> to_int_vector(const at::Tensor& tensor) {
  auto flat = tensor.to(at::kLong).contiguous().reshape({-1});
  const int64_t* data = flat.data_ptr<int64_t>();
  return std::vector<int64_t>(data, data + flat.numel());
}

// `axes` from the attribute (opset < 13) or from input 1 (opset >= 13); nullopt when absent.
std::optional<std::vector<int64_t>> axes_of(const onnx::NodeProto& node, const std::vector<at::Tensor>& in) {
  if (auto attr = ints_attr(node, "axes")) return attr;
  if (in.size() > 1 && in[1].defined()) return to_int_vector(in[1]);
  return std::nullopt;
}

bool normalize_axis(int64_t& axis, int64_t rank) {
  if (axis < 0) axis += rank;
  return axis >= 0 && axis < rank;
}

bool is_float(const at::Tensor& t) { return at::isFloatingType(t.scalar_type()); }
bool is_signed_number(const at::Tensor& t) {
  return t.scalar_type() != at::kBool && t.scalar_type() != at::kByte;
}

// 16-bit floats go through float32 and back: LibTorch's CPU kernels for Half are incomplete, and
// one rounding at the end matches how ONNX Runtime computes these ops.
at::Tensor widen(const at::Tensor& t) {
  auto type = t.scalar_type();
  return (type == at::kHalf || type == at::kBFloat16) ? t.to(at::kFloat) : t;
}

Outputs one(at::Tensor t) { return std::vector<at::Tensor>{std::move(t)}; }

Evaluator binary(at::Tensor (*op)(const at::Tensor&, const at::Tensor&)) {
  return [op](const onnx::NodeProto&, const std::vector<at::Tensor>& in) -> Outputs {
    if (in.size() != 2 || in[0].scalar_type() != in[1].scalar_type() || in[0].scalar_type() == at::kBool) {
      return std::nullopt;
    }
    return one(op(widen(in[0]), widen(in[1])).to(in[0].scalar_type()));
  };
}

Evaluator unary(at::Tensor (*op)(const at::Tensor&), bool floats_only) {
  return [op, floats_only](const onnx::NodeProto&, const std::vector<at::Tensor>& in) -> Outputs {
    if (in.size() != 1 || (floats_only ? !is_float(in[0]) : !is_signed_number(in[0]))) return std::nullopt;
    return one(op(widen(in[0])).to(in[0].scalar_type()));
  };
}

Outputs eval_div(const onnx::NodeProto&, const std::vector<at::Tensor>& in) {
  if (in.size() != 2 || in[0].scalar_type() != in[1].scalar_type() || in[0].scalar_type() == at::kBool) {
    return std::nullopt;
  }
  // ONNX integer division truncates toward zero (C semantics), unlike Python's floor.
  if (!is_float(in[0])) return one(at::div(in[0], in[1], "trunc"));
  return one(at::div(widen(in[0]), widen(in[1])).to(in[0].scalar_type()));
}

Outputs eval_transpose(const onnx::NodeProto& node, const std::vector<at::Tensor>& in) {
  if (in.size() != 1) return std::nullopt;
  const int64_t rank = in[0].dim();
  std::vector<int64_t> perm;
  if (auto attr = ints_attr(node, "perm")) {
    perm = *attr;
  } else {
    for (int64_t i = rank - 1; i >= 0; --i) perm.push_back(i);
  }
  if (static_cast<int64_t>(perm.size()) != rank) return std::nullopt;
  return one(in[0].permute(perm).contiguous());
}

Outputs eval_reshape(const onnx::NodeProto& node, const std::vector<at::Tensor>& in) {
  std::vector<int64_t> shape;
  if (in.size() == 2 && in[1].defined()) {
    shape = to_int_vector(in[1]);
  } else if (auto attr = ints_attr(node, "shape")) {  // opset < 5
    shape = *attr;
  } else {
    return std::nullopt;
  }
  const bool allow_zero = int_attr(node, "allowzero", 0) != 0;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == 0 && !allow_zero) {
      // 0 copies the input's dimension at the same index.
      if (static_cast<int64_t>(i) >= in[0].dim()) return std::nullopt;
      shape[i] = in[0].size(static_cast<int64_t>(i));
    }
  }
  return one(in[0].reshape(shape).contiguous());
}

Outputs eval_unsqueeze(const onnx::NodeProto& node, const std::vector<at::Tensor>& in) {
  auto axes = axes_of(node, in);
  if (!axes) return std::nullopt;
  const int64_t rank = in[0].dim() + static_cast<int64_t>(axes->size());
  for (auto& axis : *axes) {
    if (!normalize_axis(axis, rank)) return std::nullopt;
  }
  std::sort(axes->begin(), axes->end());
  if (std::adjacent_find(axes->begin(), axes->end()) != axes->end()) return std::nullopt;
  at::Tensor out = in[0];
  for (auto axis : *axes) out = out.unsqueeze(axis);
  return one(out.contiguous());
}

Outputs eval_squeeze(const onnx::NodeProto& node, const std::vector<at::Tensor>& in) {
  const int64_t rank = in[0].dim();
  std::vector<int64_t> axes;
  if (auto given = axes_of(node, in)) {
    axes = *given;
    for (auto& axis : axes) {
      if (!normalize_axis(axis, rank) || in[0].size(axis) != 1) return std::nullopt;
    }
  } else {
    for (int64_t d = 0; d < rank; ++d) {
      if (in[0].size(d) == 1) axes.push_back(d);
    }
  }
  std::sort(axes.rbegin(), axes.rend());
  axes.erase(std::unique(axes.begin(), axes.end()), axes.end());
  at::Tensor out = in[0];
  for (auto axis : axes) out = out.squeeze(axis);
  return one(out.contiguous());
}

Outputs eval_concat(const onnx::NodeProto& node, const std::vector<at::Tensor>& in) {
  if (in.empty() || !find_attr(node, "axis")) return std::nullopt;
  int64_t axis = int_attr(node, "axis", 0);
  if (!normalize_axis(axis, in[0].dim())) return std::nullopt;
  for (const auto& t : in) {
    if (!t.defined() || t.scalar_type() != in[0].scalar_type()) return std::nullopt;
  }
  return one(at::cat(in, axis));
}

Outputs eval_cast(const onnx::NodeProto& node, const std::vector<at::Tensor>& in) {
  const auto* to = find_attr(node, "to");
  if (in.size() != 1 || !to) return std::nullopt;
  auto dtype = torch_dtype(static_cast<int32_t>(to->i()));
  if (!dtype) return std::nullopt;
  return one(in[0].to(*dtype));
}

Outputs eval_identity(const onnx::NodeProto&, const std::vector<at::Tensor>& in) {
  if (in.size() != 1) return std::nullopt;
  return one(in[0]);
}

Outputs eval_constant(const onnx::NodeProto& node, const std::vector<at::Tensor>& in) {
  if (!in.empty() || node.attribute_size() != 1) return std::nullopt;
  const auto& attr = node.attribute(0);
  if (attr.name() == "value") {
    auto t = tensor_to_torch(attr.t());
    return t ? one(*t) : std::nullopt;
  }
  if (attr.name() == "value_float") return one(at::scalar_tensor(attr.f(), at::kFloat));
  if (attr.name() == "value_int") return one(at::scalar_tensor(attr.i(), at::kLong));
  if (attr.name() == "value_floats") {
    std::vector<float> v(attr.floats().begin(), attr.floats().end());
    return one(at::tensor(v, at::kFloat));
  }
  if (attr.name() == "value_ints") {
    std::vector<int64_t> v(attr.ints().begin(), attr.ints().end());
    return one(at::tensor(v, at::kLong));
  }
  return std::nullopt;  // strings, sparse tensors
}

Outputs eval_shape(const onnx::NodeProto& node, const std::vector<at::Tensor>& in) {
  if (in.size() != 1) return std::nullopt;
  const int64_t rank = in[0].dim();
  // opset 15 start/end: negative counts from the back, out-of-range values clamp.
  auto clamp = [rank](int64_t v) { return std::clamp(v < 0 ? v + rank : v, int64_t{0}, rank); };
  int64_t start = clamp(int_attr(node, "start", 0));
  int64_t end = clamp(int_attr(node, "end", rank));
  std::vector<int64_t> dims;
  for (int64_t d = start; d < end; ++d) dims.push_back(in[0].size(d));
  return one(at::tensor(dims, at::kLong).reshape({static_cast<int64_t>(dims.size())}));
}

const std::map<std::string, Evaluator>& evaluators() {
  static const std::map<std::string, Evaluator> table = {
      {"Add", binary([](const at::Tensor& a, const at::Tensor& b) { return at::add(a, b); })},
      {"Sub", binary([](const at::Tensor& a, const at::Tensor& b) { return at::sub(a, b); })},
      {"Mul", binary([](const at::Tensor& a, const at::Tensor& b) { return at::mul(a, b); })},
      {"Div", eval_div},
      {"Neg", unary([](const at::Tensor& a) { return at::neg(a); }, false)},
      {"Sqrt", unary([](const at::Tensor& a) { return at::sqrt(a); }, true)},
      {"Reciprocal", unary([](const at::Tensor& a) { return at::reciprocal(a); }, true)},
      {"Relu", unary([](const at::Tensor& a) { return at::relu(a); }, false)},
      {"Transpose", eval_transpose},
      {"Reshape", eval_reshape},
      {"Unsqueeze", eval_unsqueeze},
      {"Squeeze", eval_squeeze},
      {"Concat", eval_concat},
      {"Cast", eval_cast},
      {"Identity", eval_identity},
      {"Constant", eval_constant},
      {"Shape", eval_shape},
  };
  return table;
}

}  // namespace

bool is_evaluable_op(const onnx::NodeProto& node) {
  return (node.domain().empty() || node.domain() == "ai.onnx") && evaluators().count(node.op_type());
}

std::optional<std::vector<at::Tensor>> evaluate_onnx_node(const onnx::NodeProto& node,
                                                          const std::vector<at::Tensor>& inputs) {
  if (!is_evaluable_op(node)) return std::nullopt;
  // Only Reshape/Unsqueeze/Squeeze take optional inputs, and only after the data input.
  if (node.op_type() != "Constant" && (inputs.empty() || !inputs[0].defined())) return std::nullopt;
  try {
    auto outputs = evaluators().at(node.op_type())(node, inputs);
    if (!outputs || static_cast<int>(outputs->size()) != node.output_size()) return std::nullopt;
    return outputs;
  } catch (const std::exception&) {
    // A shape mismatch, integer division by zero, ...: leave the node for the runtime to report.
    return std::nullopt;
  }
}

}  // namespace mopt
