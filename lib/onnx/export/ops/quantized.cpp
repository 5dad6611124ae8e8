// LibTorch INT8 (static quantization) as ONNX QDQ: every quantized value is the uint8/int8 output
// of a QuantizeLinear, every quantized op a DequantizeLinear -> float op -> QuantizeLinear group
// with the op's own output parameters, in the form ONNX Runtime fuses into its INT8 kernels
// (QLinearConv, QGemm, QLinearAdd/Mul, QLinearConcat): weights int8 with their per-channel or
// per-tensor scales, bias int32 at scale input scale x weight scale, zero point 0. Ops LibTorch runs
// on quantized tensors without a quantized:: name (max_pool2d, flatten, relu...) are float
// translators that the exporter wraps in DQ/Q (ORT drops the pairs where it can). Dynamic INT8
// (quantized::linear_dynamic) becomes ORT's dynamic pattern (DynamicQuantizeLinear + MatMulInteger).
#include <fmt/format.h>

#include "lib/onnx/export/export_context.h"

namespace mopt::onnx_export {
namespace {

// The tensors and geometry a packed-params TorchBind object (Conv2dPackedParamsBase,
// LinearPackedParamsBase) holds, read through its own methods.
c10::IValue call(const c10::IValue& object, const char* method_name, const torch::jit::Node* node) {
  auto type = object.type()->cast<c10::ClassType>();
  auto* method = type ? type->findMethod(method_name) : nullptr;
  if (!method) unsupported(node, fmt::format("packed parameters without {}()", method_name));
  torch::jit::Stack stack{object};
  method->run(stack);
  return stack.back();
}

struct Packed {
  at::Tensor weight;  ///< quantized (qint8)
  c10::optional<at::Tensor> bias;
  c10::IValue object;
};

Packed unpack(ExportContext& c, const torch::jit::Node* node, size_t index) {
  auto object = c.constant(node->input(index));
  if (!object || !object->isObject()) unsupported(node, "packed weights computed at run time");
  auto pair = call(*object, "unpack", node).toTuple();
  Packed packed{pair->elements()[0].toTensor(), c10::nullopt, *object};
  if (!pair->elements()[1].isNone()) packed.bias = pair->elements()[1].toTensor();
  return packed;
}

// A qint8 weight's scales and int8 zero points: one per output channel (axis 0), or one for all.
struct WeightParams {
  at::Tensor scales, zero_points;
  bool per_channel = false;
};

WeightParams weight_params(const torch::jit::Node* node, const at::Tensor& weight) {
  if (weight.scalar_type() != at::kQInt8) unsupported(node, "weights other than qint8");
  if (weight.qscheme() == at::kPerChannelAffine || weight.qscheme() == at::kPerChannelSymmetric) {
    if (weight.q_per_channel_axis() != 0) unsupported(node, "weights quantized along another axis than 0");
    return {weight.q_per_channel_scales().to(at::kFloat), weight.q_per_channel_zero_points().to(at::kChar), true};
  }
  if (weight.qscheme() != at::kPerTensorAffine && weight.qscheme() != at::kPerTensorSymmetric) {
    unsupported(node, "a weight quantization scheme other than affine per tensor or per channel");
  }
  return {at::scalar_tensor(weight.q_scale(), at::kFloat), at::scalar_tensor(weight.q_zero_point(), at::kLong).to(at::kChar), false};
}

// Weight -> int8 initializer + DequantizeLinear (axis 0 for per-channel scales). Returns the float
// value's name and the weight scales (one per output channel).
std::pair<std::string, at::Tensor> dequantized_weight(ExportContext& c, const torch::jit::Node* node, const at::Tensor& weight) {
  const auto params = weight_params(node, weight);
  auto integers = c.add_initializer(weight.int_repr(), "weight_int8");
  auto out = c.fresh("weight");
  auto& dq = c.add_node("DequantizeLinear",
                        {integers, c.add_initializer(params.scales, "weight_scale"),
                         c.add_initializer(params.zero_points, "weight_zero_point")},
                        {out});
  if (params.per_channel) set_int(dq, "axis", 0);
  const auto channels = weight.size(0);
  return {out, params.per_channel ? params.scales : params.scales.expand({channels}).contiguous()};
}

// Bias -> int32 at scale (input scale x weight scale), zero point 0, + DequantizeLinear (axis 0):
// the bias form ORT's QLinearConv/QGemm fusion takes.
std::string dequantized_bias(ExportContext& c, const at::Tensor& bias, double input_scale, const at::Tensor& weight_scales) {
  auto scales = (weight_scales.to(at::kDouble) * input_scale).to(at::kFloat);
  auto integers = at::round(bias.to(at::kDouble) / scales.to(at::kDouble)).clamp(INT32_MIN, INT32_MAX).to(at::kInt);
  auto out = c.fresh("bias");
  auto& dq = c.add_node("DequantizeLinear",
                        {c.add_initializer(integers, "bias_int32"), c.add_initializer(scales, "bias_scale"),
                         c.add_initializer(at::zeros({scales.size(0)}, at::kInt), "bias_zero_point")},
                        {out});
  set_int(dq, "axis", 0);
  return out;
}

// The output parameters a quantized:: op is given (scale, zero point at `at`, `at` + 1), with the
// input's dtype.
QuantParams output_params(ExportContext& c, const torch::jit::Node* node, size_t at) {
  auto scale = c.constant_double(node->input(at));
  auto zero_point = c.constant_int(node->input(at + 1));
  if (!scale || !zero_point) unsupported(node, "output scale or zero point computed at run time");
  const auto* recorded = c.quant_params(node->output());
  return {*scale, *zero_point, recorded ? recorded->dtype : at::kQUInt8};
}

const QuantParams& input_params(ExportContext& c, const torch::jit::Node* node, size_t index) {
  const auto* params = c.quant_params(node->input(index));
  if (!params) unsupported(node, "an input that is not quantized per tensor");
  return *params;
}

// The float result `value` of a quantized op (with its fused ReLU) -> the op's quantized output.
void finish(ExportContext& c, const torch::jit::Node* node, std::string value, bool relu, const QuantParams& params) {
  if (relu) {
    auto activated = c.fresh("relu");
    c.add_node("Relu", {value}, {activated});
    value = activated;
  }
  c.bind(node->output(), c.quantize(value, params));
}

// aten::quantize_per_tensor(x, scale, zero_point, dtype) -> QuantizeLinear.
void translate_quantize(ExportContext& c, const torch::jit::Node* node) {
  auto scale = c.constant_double(node->input(1));
  auto zero_point = c.constant_int(node->input(2));
  auto dtype = c.constant_int(node->input(3));
  if (!scale || !zero_point || !dtype) unsupported(node, "parameters computed at run time");
  c.bind(node->output(), c.quantize(c.name(node->input(0)), {*scale, *zero_point, static_cast<at::ScalarType>(*dtype)}));
}

// aten::dequantize(x) -> DequantizeLinear (the one name() hands out for x).
void translate_dequantize(ExportContext& c, const torch::jit::Node* node) {
  if (!c.quant_params(node->input(0))) unsupported(node, "dequantizing a tensor list or a per-channel tensor");
  c.bind(node->output(), c.name(node->input(0)));
}

// quantized::conv2d(_relu)(x, packed, scale, zero_point) -> DQ -> Conv [-> Relu] -> Q.
template <bool kRelu>
void translate_conv(ExportContext& c, const torch::jit::Node* node) {
  auto packed = unpack(c, node, 1);
  if (call(packed.object, "transpose", node).toBool()) unsupported(node, "transposed quantized convolution");
  const auto& in = input_params(c, node, 0);
  auto [weight, weight_scales] = dequantized_weight(c, node, packed.weight);
  std::vector<std::string> inputs = {c.name(node->input(0)), weight};
  if (packed.bias) inputs.push_back(dequantized_bias(c, *packed.bias, in.scale, weight_scales));
  auto padding = call(packed.object, "padding", node).toIntVector();
  std::vector<int64_t> pads(padding);
  pads.insert(pads.end(), padding.begin(), padding.end());
  auto value = c.fresh("conv");
  auto& conv = c.add_node("Conv", inputs, {value});
  set_ints(conv, "strides", call(packed.object, "stride", node).toIntVector());
  set_ints(conv, "pads", pads);
  set_ints(conv, "dilations", call(packed.object, "dilation", node).toIntVector());
  set_int(conv, "group", call(packed.object, "groups", node).toInt());
  finish(c, node, value, kRelu, output_params(c, node, 2));
}

// quantized::linear(_relu)(x, packed, scale, zero_point) -> DQ -> Gemm(transB) [-> Relu] -> Q for
// a 2-D input (ORT's QGemm); MatMul + Add for other ranks.
template <bool kRelu>
void translate_linear(ExportContext& c, const torch::jit::Node* node) {
  auto packed = unpack(c, node, 1);
  const auto& in = input_params(c, node, 0);
  auto [weight, weight_scales] = dequantized_weight(c, node, packed.weight);
  auto x = c.name(node->input(0));
  auto type = node->input(0)->type()->cast<c10::TensorType>();
  const bool two_d = type && type->dim() && *type->dim() == 2;
  auto value = c.fresh("linear");
  if (two_d) {
    std::vector<std::string> inputs = {x, weight};
    if (packed.bias) inputs.push_back(dequantized_bias(c, *packed.bias, in.scale, weight_scales));
    set_int(c.add_node("Gemm", inputs, {value}), "transB", 1);
  } else {
    auto transposed = c.fresh("weight_t");
    set_ints(c.add_node("Transpose", {weight}, {transposed}), "perm", {1, 0});
    auto product = packed.bias ? c.fresh("matmul") : value;
    c.add_node("MatMul", {x, transposed}, {product});
    if (packed.bias) c.add_node("Add", {product, c.add_initializer(packed.bias->to(at::kFloat), "bias")}, {value});
  }
  finish(c, node, value, kRelu, output_params(c, node, 2));
}

// quantized::linear(_relu)_dynamic(x, packed, reduce_range): float activations quantized per call ->
// DynamicQuantizeLinear -> MatMulInteger (int8 weights, per channel or per tensor) -> Cast -> Mul
// by input scale x weight scales [-> Add bias] [-> Relu], the pattern ORT fuses into its dynamic
// INT8 MatMul (MatMulIntegerToFloat). ONNX quantizes the activations over the full uint8 range
// where LibTorch's fbgemm uses 7 bits (reduce_range): the export is the more precise of the two.
template <bool kRelu>
void translate_linear_dynamic(ExportContext& c, const torch::jit::Node* node) {
  auto packed = unpack(c, node, 1);
  const auto& weight = packed.weight;
  const auto params = weight_params(node, weight);
  const auto x = c.name(node->input(0));
  const auto xq = c.fresh("x_quantized"), x_scale = c.fresh("x_scale"), x_zero = c.fresh("x_zero_point");
  c.add_node("DynamicQuantizeLinear", {x}, {xq, x_scale, x_zero});
  auto integer = c.fresh("matmul_int32"), as_float = c.fresh("matmul_float"), scale = c.fresh("matmul_scale");
  c.add_node("MatMulInteger",
             {xq, c.add_initializer(weight.int_repr().t().contiguous(), "weight_int8"), x_zero,
              c.add_initializer(params.zero_points, "weight_zero_point")},
             {integer});
  set_int(c.add_node("Cast", {integer}, {as_float}), "to", onnx::TensorProto::FLOAT);
  c.add_node("Mul", {x_scale, c.add_initializer(params.scales, "weight_scale")}, {scale});
  std::string value = c.fresh("linear");
  c.add_node("Mul", {as_float, scale}, {value});
  if (packed.bias) {
    auto biased = c.fresh("linear_bias");
    c.add_node("Add", {value, c.add_initializer(packed.bias->to(at::kFloat), "bias")}, {biased});
    value = biased;
  }
  if (kRelu) {
    auto activated = c.fresh("relu");
    c.add_node("Relu", {value}, {activated});
    value = activated;
  }
  c.bind(node->output(), value);
}

// quantized::add/mul(_relu)(a, b, scale, zero_point) -> DQ a, DQ b -> Add/Mul [-> Relu] -> Q.
constexpr char kAdd[] = "Add";
constexpr char kMul[] = "Mul";

template <const char* kOp, bool kRelu>
void translate_binary(ExportContext& c, const torch::jit::Node* node) {
  input_params(c, node, 0);
  input_params(c, node, 1);
  auto value = c.fresh(kOp);
  c.add_node(kOp, {c.name(node->input(0)), c.name(node->input(1))}, {value});
  finish(c, node, value, kRelu, output_params(c, node, 2));
}

// quantized::cat(tensors, dim, scale, zero_point) -> DQ each -> Concat -> Q.
void translate_cat(ExportContext& c, const torch::jit::Node* node) {
  const auto* list = node->input(0)->node();
  if (list->kind() != c10::prim::ListConstruct) unsupported(node, "a tensor list that is not built in the graph");
  auto dim = c.constant_int(node->input(1));
  if (!dim) unsupported(node, "a run-time dim");
  std::vector<std::string> inputs;
  for (const auto* value : list->inputs()) {
    if (!c.quant_params(value)) unsupported(node, "an input that is not quantized per tensor");
    inputs.push_back(c.name(value));
  }
  auto value = c.fresh("concat");
  set_int(c.add_node("Concat", inputs, {value}), "axis", *dim);
  finish(c, node, value, false, output_params(c, node, 2));
}

// quantized::hardswish(x, scale, zero_point) -> DQ -> HardSwish -> Q.
void translate_hardswish(ExportContext& c, const torch::jit::Node* node) {
  input_params(c, node, 0);
  auto value = c.fresh("hardswish");
  c.add_node("HardSwish", {c.name(node->input(0))}, {value});
  finish(c, node, value, false, output_params(c, node, 1));
}

}  // namespace

std::vector<TranslatorEntry> quantized_translators() {
  return {
      {"aten::quantize_per_tensor", translate_quantize, nullptr, true},
      {"aten::dequantize", translate_dequantize, nullptr, true},
      {"quantized::conv2d", translate_conv<false>, nullptr, true},
      {"quantized::conv2d_relu", translate_conv<true>, nullptr, true},
      {"quantized::linear", translate_linear<false>, nullptr, true},
      {"quantized::linear_relu", translate_linear<true>, nullptr, true},
      {"quantized::linear_dynamic", translate_linear_dynamic<false>, nullptr, true},
      {"quantized::linear_relu_dynamic", translate_linear_dynamic<true>, nullptr, true},
      {"quantized::add", translate_binary<kAdd, false>, nullptr, true},
      {"quantized::add_relu", translate_binary<kAdd, true>, nullptr, true},
      {"quantized::mul", translate_binary<kMul, false>, nullptr, true},
      {"quantized::mul_relu", translate_binary<kMul, true>, nullptr, true},
      {"quantized::cat", translate_cat, nullptr, true},
      {"quantized::hardswish", translate_hardswish, nullptr, true},
  };
}

}  // namespace mopt::onnx_export
