// Activations with parameters, and the softmax family.
#include <fmt/format.h>

#include <cmath>

#include "lib/onnx/import/converter_table.h"

namespace mopt::onnx_import {
namespace {

void convert_leaky_relu(NodeContext& c) {
  c.assign(0, fmt::format("torch.leaky_relu({}, {})", c.input(0), float_literal(c.attr_float("alpha", 0.01))));
}

void convert_elu(NodeContext& c) {
  c.assign(0, fmt::format("torch.elu({}, {})", c.input(0), float_literal(c.attr_float("alpha", 1.0))));
}

void convert_celu(NodeContext& c) {
  c.assign(0, fmt::format("torch.celu({}, {})", c.input(0), float_literal(c.attr_float("alpha", 1.0))));
}

void convert_selu(NodeContext& c) {
  double alpha = c.attr_float("alpha", 1.67326319217681884765625), gamma = c.attr_float("gamma", 1.05070102214813232421875);
  c.assign(0, fmt::format("torch.mul(torch.elu({}, {}), {})", c.input(0), float_literal(alpha),
                          float_literal(gamma)));
}

void convert_thresholded_relu(NodeContext& c) {
  auto x = c.input(0);
  c.assign(0, fmt::format("torch.where(torch.gt({0}, {1}), {0}, torch.zeros_like({0}))", x,
                          float_literal(c.attr_float("alpha", 1.0))));
}

void convert_hard_sigmoid(NodeContext& c) {
  double alpha = c.attr_float("alpha", 0.2), beta = c.attr_float("beta", 0.5);
  // PyTorch's hardsigmoid is relu6(x + 3) / 6, i.e. alpha = 1/6, beta = 0.5 (as its exporter writes).
  if (std::abs(alpha - 1.0 / 6.0) < 1e-6 && beta == 0.5) {
    c.assign(0, fmt::format("torch.hardsigmoid({})", c.input(0)));
    return;
  }
  c.assign(0, fmt::format("torch.clamp(torch.add(torch.mul({}, {}), {}), 0.0, 1.0)", c.input(0), float_literal(alpha),
                          float_literal(beta)));
}

void convert_hard_swish(NodeContext& c) { c.assign(0, fmt::format("torch.hardswish({})", c.input(0))); }

void convert_softplus(NodeContext& c) { c.assign(0, fmt::format("torch.softplus({})", c.input(0))); }

void convert_prelu(NodeContext& c) {
  auto* slope = c.constant(1);
  if (c.opset() < 7 && slope && slope->dim() == 1) {
    c.assign(0, fmt::format("torch.prelu({}, {})", c.input(0), c.input(1)));  // legacy: one slope per channel
    return;
  }
  // ONNX broadcasts the slope unidirectionally; torch.prelu wants one slope per channel.
  c.assign(0, fmt::format("torch.where(torch.ge({0}, 0), {0}, torch.mul({0}, {1}))", c.input(0), c.input(1)));
}

void convert_clip(NodeContext& c) {
  auto x = c.input(0);
  std::optional<double> low, high;
  std::string low_expression = "None", high_expression = "None";
  if (c.opset() < 11) {
    if (c.attribute("min")) low = c.attr_float("min", 0);
    if (c.attribute("max")) high = c.attr_float("max", 0);
  } else {
    for (int i : {1, 2}) {
      if (!c.has_input(i)) continue;
      auto* value = c.constant(i);
      auto& bound = i == 1 ? low : high;
      auto& expression = i == 1 ? low_expression : high_expression;
      if (value) bound = value->item<double>();
      else expression = c.input(i);
    }
  }
  const bool floats = c.input_elem_type(0) == onnx::TensorProto::FLOAT;
  const bool scalar_bounds = low_expression == "None" && high_expression == "None";
  if (floats && low && *low == 0 && high && *high == 6) {
    c.assign(0, fmt::format("torch.hardtanh({}, 0.0, 6.0)", x));  // MobileNet's ReLU6, as PyTorch writes it
  } else if (floats && low && *low == 0 && !high && scalar_bounds) {
    c.assign(0, fmt::format("torch.relu({})", x));
  } else if (scalar_bounds) {
    if (!low && !high) c.assign(0, x);
    else c.assign(0, fmt::format("torch.clamp({}, {}, {})", x, low ? float_literal(*low) : "None",
                                 high ? float_literal(*high) : "None"));
  } else {
    // clamp's Scalar and Tensor overloads cannot mix: a run-time bound makes both tensors.
    auto as_tensor = [&](const std::optional<double>& bound, const std::string& expression) {
      return bound ? fmt::format("torch.tensor({}, dtype={}.dtype)", float_literal(*bound), x) : expression;
    };
    c.assign(0, fmt::format("torch.clamp({}, {}, {})", x, as_tensor(low, low_expression), as_tensor(high, high_expression)));
  }
}

// Shrink: x + bias below -lambd, x - bias above lambd, 0 between. Integer inputs are computed in
// float64 and truncated back, as the reference's NumPy arithmetic does.
void convert_shrink(NodeContext& c) {
  auto x = c.input(0);
  auto type = c.input_elem_type(0);
  bool floating = type == onnx::TensorProto::FLOAT || type == onnx::TensorProto::DOUBLE || type == onnx::TensorProto::FLOAT16;
  c.require(floating || type != 0, "Shrink on an input of unknown element type");
  auto v = floating ? x : fmt::format("{}.to({})", x, dtype_code(at::kDouble));
  auto lambd = float_literal(c.attr_float("lambd", 0.5)), bias = float_literal(c.attr_float("bias", 0.0));
  auto y = fmt::format("torch.where(torch.lt({0}, -{1}), torch.add({0}, {2}), torch.where(torch.gt({0}, {1}), "
                       "torch.sub({0}, {2}), torch.zeros_like({0})))",
                       v, lambd, bias);
  c.assign(0, floating ? y : fmt::format("{}.to({}.dtype)", y, x));
}

// Softmax, LogSoftmax, Hardmax. Before opset 13 they flatten the input to 2-D at `axis`
// (default 1) and normalize over the second dim; from 13 on they work along `axis` (default -1).
template <int kKind>
void convert_softmax(NodeContext& c) {
  auto x = c.input(0);
  auto apply = [&](const std::string& input, const std::string& dim) {
    if (kKind == 0) return fmt::format("torch.softmax({}, {})", input, dim);
    if (kKind == 1) return fmt::format("torch.log_softmax({}, {})", input, dim);
    return fmt::format("torch.one_hot(torch.argmax({0}, {1}), {0}.size({1})).to({0}.dtype).movedim(-1, {1})",
                       input, dim);
  };
  if (c.opset() >= 13) {
    c.assign(0, apply(x, std::to_string(c.attr_int("axis", -1))));
    return;
  }
  auto axis = c.attr_int("axis", 1);
  auto rank = c.input_rank(0);
  if (rank) axis = normalize_axis(c, axis, *rank);
  if (rank && axis == *rank - 1) {
    c.assign(0, apply(x, "-1"));  // the 2-D view changes nothing
    return;
  }
  c.require(axis >= 0, "negative axis on an input of unknown rank");
  auto flat = axis == 0 ? fmt::format("{}.reshape([1, -1])", x) : fmt::format("{}.flatten({}).flatten(0, {})", x, axis, axis - 1);
  c.assign(0, fmt::format("{}.reshape({}.size())", apply(flat, "1"), x));
}

// Gelu (opset 20): exact (erf) or its tanh approximation, as aten::gelu computes both.
void convert_gelu(NodeContext& c) {
  auto approximate = c.attr_string("approximate", "none");
  c.require(approximate == "none" || approximate == "tanh", "Gelu approximate=" + approximate);
  c.assign(0, fmt::format("torch.gelu({}, approximate='{}')", c.input(0), approximate));
}

void convert_mish(NodeContext& c) { c.assign(0, fmt::format("torch.mish({})", c.input(0))); }

}  // namespace

std::vector<ConverterEntry> activation_converters() {
  return {
      {"", "LeakyRelu", 1, kMaxOpset, convert_leaky_relu},
      {"", "Elu", 1, kMaxOpset, convert_elu},
      {"", "Celu", 12, kMaxOpset, convert_celu},
      {"", "Selu", 1, kMaxOpset, convert_selu},
      {"", "ThresholdedRelu", 10, kMaxOpset, convert_thresholded_relu},
      {"", "HardSigmoid", 1, kMaxOpset, convert_hard_sigmoid},
      {"", "HardSwish", 14, kMaxOpset, convert_hard_swish},
      {"", "Softplus", 1, kMaxOpset, convert_softplus},
      {"", "PRelu", 1, kMaxOpset, convert_prelu},
      {"", "Clip", 1, kMaxOpset, convert_clip},
      {"", "Shrink", 9, kMaxOpset, convert_shrink},
      {"", "Softmax", 1, kMaxOpset, convert_softmax<0>},
      {"", "LogSoftmax", 1, kMaxOpset, convert_softmax<1>},
      {"", "Hardmax", 1, kMaxOpset, convert_softmax<2>},
      {"", "Gelu", 20, kMaxOpset, convert_gelu},
      {"", "Mish", 18, kMaxOpset, convert_mish},
  };
}

}  // namespace mopt::onnx_import
