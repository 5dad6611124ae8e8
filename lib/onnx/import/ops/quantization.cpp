// QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear, MatMulInteger and QLinearMatMul (ConvInteger is in
// conv.cpp): the ONNX formulas in float32 (as the reference computes them), integer results cast
// at the end. torch.round rounds half to even, as ONNX's saturate(round(...)) requires.
#include <fmt/format.h>

#include "lib/onnx/import/converter_table.h"

namespace mopt::onnx_import {
namespace {

// A per-axis (1-D) scale or zero point shaped to broadcast along `axis` of x; scalars stay as they are.
std::string along_axis(NodeContext& c, const std::string& t, const std::string& x) {
  auto axis = c.opset() >= 13 ? c.attr_int("axis", 1) : int64_t{1};
  return fmt::format("{}({}, {}, {})", c.helper("_along_axis"), t, x, axis);
}

std::pair<int64_t, int64_t> saturation(NodeContext& c, int32_t type) {
  if (type == onnx::TensorProto::UINT8) return {0, 255};
  c.require(type == onnx::TensorProto::INT8, "quantization to types other than uint8 and int8");
  return {-128, 127};
}

void convert_quantize_linear(NodeContext& c) {
  c.require(c.input_elem_type(0) == onnx::TensorProto::FLOAT, "QuantizeLinear of inputs other than float");
  c.require(c.attr_int("block_size", 0) == 0, "blocked quantization (QuantizeLinear block_size)");
  auto x = c.input(0);
  // Without a zero point the type is opset 21's output_dtype, or uint8 (its default, 0).
  const auto output_dtype = static_cast<int32_t>(c.attr_int("output_dtype", 0));
  auto type = c.has_input(2) ? c.input_elem_type(2) : output_dtype ? output_dtype : int32_t{onnx::TensorProto::UINT8};
  auto [low, high] = saturation(c, type);
  auto scaled = fmt::format("torch.round(torch.div({}, {}))", x, along_axis(c, c.input(1), x));
  if (c.has_input(2)) scaled = fmt::format("torch.add({}, {}.to(6))", scaled, along_axis(c, c.input(2), x));  // 6: float32
  c.assign(0, fmt::format("torch.clamp({}, {}, {}).to({})", scaled, low, high, dtype_literal(c, type)));
}

void convert_dequantize_linear(NodeContext& c) {
  c.require(c.attr_int("block_size", 0) == 0, "blocked quantization (DequantizeLinear block_size)");
  auto x = c.input(0);
  auto type = c.input_elem_type(0);
  c.require(type == onnx::TensorProto::UINT8 || type == onnx::TensorProto::INT8 || type == onnx::TensorProto::INT32,
            "DequantizeLinear of types other than uint8, int8, int32");
  auto shifted = fmt::format("{}.to(6)", x);
  if (c.has_input(2)) shifted = fmt::format("torch.sub({}, {}.to(6))", shifted, along_axis(c, c.input(2), x));
  c.assign(0, fmt::format("torch.mul({}, {})", shifted, along_axis(c, c.input(1), x)));
}

// As its ONNX function body: range [min(x, 0), max(x, 0)] over 0..255, zero point rounded and clipped.
void convert_dynamic_quantize_linear(NodeContext& c) {
  c.require(c.input_elem_type(0) == onnx::TensorProto::FLOAT, "DynamicQuantizeLinear of inputs other than float");
  auto x = c.input(0);
  auto low = c.temp(), scale = c.temp(), zero = c.temp();
  c.emit(fmt::format("{} = torch.clamp(torch.amin({}, list(range({}.dim()))), None, 0.0)", low, x, x));
  c.emit(fmt::format("{} = torch.div(torch.sub(torch.clamp(torch.amax({}, list(range({}.dim()))), 0.0, None), {}), 255.0)",
                     scale, x, x, low));
  c.emit(fmt::format("{} = torch.round(torch.clamp(torch.neg(torch.div({}, {})), 0.0, 255.0))", zero, low, scale));
  c.assign(0, fmt::format("torch.clamp(torch.add(torch.round(torch.div({}, {})), {}), 0, 255).to({})", x, scale, zero,
                          dtype_code(at::kByte)));
  c.assign(1, scale);
  c.assign(2, fmt::format("{}.to({})", zero, dtype_code(at::kByte)));
}

// (A - a_zero_point) @ (B - b_zero_point) in int64 (exact for 8-bit operands), as int32. A 1-D
// zero point of A is per row, of B per column.
void convert_matmul_integer(NodeContext& c) {
  auto a = fmt::format("{}.to(4)", c.input(0)), b = fmt::format("{}.to(4)", c.input(1));  // 4: int64
  if (c.has_input(2)) {
    auto zero = c.input(2);
    a = fmt::format("torch.sub({0}, {1}.to(4).reshape([-1, 1]) if {1}.dim() == 1 else {1}.to(4))", a, zero);
  }
  if (c.has_input(3)) b = fmt::format("torch.sub({}, {}.to(4))", b, c.input(3));
  c.assign(0, fmt::format("torch.matmul({}, {}).to({})", a, b, dtype_code(at::kInt)));
}

// QLinearMatMul as ONNX's reference computes it: the zero-point-shifted integer product in exact
// arithmetic, scaled by a_scale * b_scale / y_scale (in the scales' own type), rounded half to even,
// shifted by y's zero point and saturated. A's 1-D parameters are per row, B's per column.
void convert_qlinear_matmul(NodeContext& c) {
  auto type = c.input_elem_type(7);
  auto [low, high] = saturation(c, type);
  auto per_row = [](const std::string& t) { return fmt::format("({0} if {0}.dim() == 0 else {0}.reshape([-1, 1]))", t); };
  auto a = fmt::format("torch.sub({}.to(7), {}.to(7))", c.input(0), per_row(c.input(2)));  // 7: float64, exact here
  auto b = fmt::format("torch.sub({}.to(7), {}.to(7))", c.input(3), c.input(5));
  auto scale = fmt::format("torch.div(torch.mul({}, {}), {}).to(7)", per_row(c.input(1)), c.input(4), c.input(6));
  auto y = fmt::format("torch.add(torch.round(torch.mul(torch.matmul({}, {}), {})), {}.to(7))", a, b, scale, c.input(7));
  c.assign(0, fmt::format("torch.clamp({}, {}, {}).to({})", y, low, high, dtype_literal(c, type)));
}

}  // namespace

std::vector<ConverterEntry> quantization_converters() {
  return {
      {"", "QuantizeLinear", 10, kMaxOpset, convert_quantize_linear},
      {"", "DequantizeLinear", 10, kMaxOpset, convert_dequantize_linear},
      {"", "DynamicQuantizeLinear", 11, kMaxOpset, convert_dynamic_quantize_linear},
      {"", "MatMulInteger", 10, kMaxOpset, convert_matmul_integer},
      {"", "QLinearMatMul", 10, kMaxOpset, convert_qlinear_matmul},
  };
}

}  // namespace mopt::onnx_import
