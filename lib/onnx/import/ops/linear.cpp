// Gemm, MatMul and Einsum. A constant right operand becomes a Linear layer (weight [out, in],
// optional bias), scripted as torch.nn.Linear (aten::linear on self.weight), so dynamic and static
// INT8 quantization and channel pruning see an ordinary linear layer.
#include <fmt/format.h>

#include "lib/onnx/import/converter_table.h"

namespace mopt::onnx_import {
namespace {

std::string linear_layer(NodeContext& c, const at::Tensor& weight, const at::Tensor& bias, const std::string& weight_name,
                         const std::string& bias_name) {
  LayerSpec layer;
  layer.type_name = "torch.nn.modules.linear.Linear";
  layer.name_hint = weight_name;
  layer.tensors.push_back({"weight", weight.contiguous(), weight_name});
  layer.tensors.push_back({"bias", bias, bias_name});
  layer.forward_source =
      "def forward(self, input: Tensor) -> Tensor:\n    return torch.linear(input, self.weight, self.bias)\n";
  return c.add_layer(std::move(layer));
}

void convert_gemm(NodeContext& c) {
  double alpha = c.attr_float("alpha", 1.0), beta = c.attr_float("beta", 1.0);
  bool trans_a = c.attr_int("transA", 0), trans_b = c.attr_int("transB", 0);
  auto* b = c.constant(1);
  auto* bias = c.constant(2);
  int64_t out_features = b ? (trans_b ? b->size(0) : b->size(1)) : -1;
  bool bias_is_vector = !c.has_input(2) || (bias && bias->numel() == out_features &&
                                             (bias->dim() == 1 || (bias->dim() == 2 && bias->size(0) == 1)));
  bool bias_is_scalar = bias && bias->numel() == 1;
  if (b && b->dim() == 2 && (bias_is_vector || bias_is_scalar)) {
    auto weight = (trans_b ? *b : b->t()) * alpha;
    at::Tensor folded_bias;
    if (bias) folded_bias = (bias->reshape({-1}).expand({out_features}) * beta).to(weight.scalar_type()).contiguous();
    auto x = c.input(0);
    if (trans_a) x = fmt::format("{}.t()", x);
    c.assign(0, fmt::format("{}({})", linear_layer(c, weight, folded_bias, c.node().input(1), bias ? c.node().input(2) : ""),
                            x));
    return;
  }
  auto a = trans_a ? fmt::format("{}.t()", c.input(0)) : c.input(0);
  auto bm = trans_b ? fmt::format("{}.t()", c.input(1)) : c.input(1);
  auto product = fmt::format("torch.mm({}, {})", a, bm);
  if (alpha != 1.0) product = fmt::format("torch.mul({}, {})", product, float_literal(alpha));
  if (c.has_input(2)) {
    auto addend = beta == 1.0 ? c.input(2) : fmt::format("torch.mul({}, {})", c.input(2), float_literal(beta));
    product = fmt::format("torch.add({}, {})", product, addend);
  }
  c.assign(0, product);
}

// The bias of an Add that is the only reader of a MatMul: a constant vector of the output width.
const at::Tensor* fusable_bias(NodeContext& c, const onnx::NodeProto& add, int64_t width, std::string& name) {
  if (add.op_type() != "Add" || !add.domain().empty() || add.input_size() != 2 || add.output_size() != 1) return nullptr;
  const auto& other = add.input(0) == c.node().output(0) ? add.input(1) : add.input(0);
  auto* bias = c.constant_of(other);
  if (!bias || bias->dim() != 1 || bias->size(0) != width || !bias->is_floating_point()) return nullptr;
  name = other;
  return bias;
}

void convert_matmul(NodeContext& c) {
  auto* b = c.constant(1);
  if (b && b->dim() == 2 && b->is_floating_point()) {
    // MatMul + Add(bias), as PyTorch exports nn.Linear on 3-D inputs, is one Linear with a bias.
    std::string bias_name;
    auto* add = c.sole_reader(0);
    auto* bias = add ? fusable_bias(c, *add, b->size(1), bias_name) : nullptr;
    auto layer = linear_layer(c, b->t(), bias ? *bias : at::Tensor(), c.node().input(1), bias_name);
    auto result = fmt::format("{}({})", layer, c.input(0));
    if (bias) {
      auto local = c.output(0);
      c.emit(fmt::format("{} = {}", local, result));
      c.absorb(*add, local);
      return;
    }
    c.assign(0, result);
    return;
  }
  c.assign(0, fmt::format("torch.matmul({}, {})", c.input(0), c.input(1)));
}

void convert_einsum(NodeContext& c) {
  auto equation = c.attr_string("equation", "");
  c.require(!equation.empty() && equation.find('"') == std::string::npos, "Einsum without an equation");
  std::vector<std::string> operands;
  for (int i = 0; i < c.input_count(); ++i) operands.push_back(c.input(i));
  c.assign(0, fmt::format("torch.einsum(\"{}\", [{}])", equation, fmt::join(operands, ", ")));
}

void convert_det(NodeContext& c) { c.assign(0, fmt::format("torch.linalg_det({})", c.input(0))); }

}  // namespace

std::vector<ConverterEntry> linear_converters() {
  return {
      {"", "Gemm", 1, kMaxOpset, convert_gemm},
      {"", "MatMul", 1, kMaxOpset, convert_matmul},
      {"", "Einsum", 12, kMaxOpset, convert_einsum},
      {"", "Det", 11, kMaxOpset, convert_det},
  };
}

}  // namespace mopt::onnx_import
