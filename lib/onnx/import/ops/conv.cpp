// Conv and ConvTranspose. A constant weight becomes a Conv{1,2,3}d / ConvTranspose{1,2,3}d layer
// with `weight` and `bias` parameters, scripted as torch.nn does (aten::conv2d on self.weight), so
// quantization, BN folding and channel pruning see an ordinary conv layer.
#include <fmt/format.h>

#include <algorithm>

#include "lib/onnx/import/converter_table.h"
#include "lib/onnx/import/fusions.h"
#include "lib/onnx/import/ops/window_padding.h"

namespace mopt::onnx_import {
namespace {

struct ConvGeometry {
  std::vector<int64_t> strides, dilations;
  SplitPadding padding;
};

ConvGeometry conv_geometry(NodeContext& c, int64_t spatial, const std::vector<int64_t>& kernel) {
  ConvGeometry g;
  g.strides = c.attr_ints("strides").value_or(std::vector<int64_t>(spatial, 1));
  g.dilations = c.attr_ints("dilations").value_or(std::vector<int64_t>(spatial, 1));
  auto pads = resolve_pads(c, kernel, g.strides, g.dilations);
  g.padding = split_padding(pads, is_symmetric(pads));
  return g;
}

std::string padded_input(NodeContext& c, const ConvGeometry& g) {
  if (g.padding.extra.empty()) return c.input(0);
  auto padded = c.temp();
  c.emit(fmt::format("{} = {}({}, {}, 'constant', 0.0)", padded, c.helper("_pad"), c.input(0),
                     int_list_literal(g.padding.extra)));
  return padded;
}

// A scalar Mul and/or Add that is the only reader of a convolution's output (PP-LCNet's "learnable
// affine blocks", as paddle2onnx writes them): y = conv(x) * scale + shift.
struct ScalarAffine {
  double scale = 1.0, shift = 0.0;
  std::vector<const onnx::NodeProto*> nodes;  // absorbed into the convolution
};

ScalarAffine trailing_scalar_affine(const NodeContext& c) {
  ScalarAffine affine;
  auto value = c.node().output(0);
  for (const char* op : {"Mul", "Add"}) {
    const auto* node = only_reader(c, value, op);
    if (!node || node->input_size() != 2) continue;
    const auto constant = scalar_constant(c, other_input(*node, value));
    if (!constant) continue;
    (std::string(op) == "Mul" ? affine.scale : affine.shift) = *constant;
    affine.nodes.push_back(node);
    value = node->output(0);
  }
  return affine;
}

// The layer (constant weight and bias) or functional form of a convolution. `width_one`: a 2-D
// convolution whose input and kernel are one wide, run as a 1-D one over the height (see convert_conv);
// `arguments` are then the 1-D ones.
void emit_convolution(NodeContext& c, const std::string& kind, int64_t spatial, const std::string& x,
                      const std::string& arguments, bool width_one = false) {
  auto function = fmt::format("torch.{}{}d", kind == "Conv" ? "conv" : "conv_transpose", spatial);
  auto* weight = c.constant(1);
  auto* bias = c.constant(2);
  if (weight && (bias || !c.has_input(2))) {
    LayerSpec layer;
    layer.type_name = fmt::format("torch.nn.modules.conv.{}{}d", kind, width_one ? 1 : spatial);
    layer.name_hint = c.node().input(1);
    // A following scalar scale and shift fold into the weights: two passes over the output fewer.
    auto affine = kind == "Conv" && weight->scalar_type() == at::kFloat ? trailing_scalar_affine(c) : ScalarAffine{};
    auto layer_weight = affine.nodes.empty() ? *weight : *weight * affine.scale;
    if (width_one) layer_weight = layer_weight.squeeze(3);
    layer.tensors.push_back({"weight", layer_weight, c.node().input(1)});
    if (affine.nodes.empty()) {
      layer.tensors.push_back({"bias", bias ? *bias : at::Tensor(), bias ? c.node().input(2) : ""});
    } else {
      auto folded_bias = (bias ? bias->to(at::kFloat) : at::zeros({weight->size(0)})) * affine.scale + affine.shift;
      layer.tensors.push_back({"bias", folded_bias, bias ? c.node().input(2) : ""});
    }
    layer.forward_source =
        width_one ? fmt::format("def forward(self, input: Tensor) -> Tensor:\n    return torch.conv1d(input.squeeze(3), "
                                "self.weight, self.bias, {}).unsqueeze(3)\n",
                                arguments)
                  : fmt::format("def forward(self, input: Tensor) -> Tensor:\n    return {}(input, self.weight, "
                                "self.bias, {})\n",
                                function, arguments);
    auto result = c.output(0);
    c.emit(fmt::format("{} = {}({})", result, c.add_layer(std::move(layer)), x));
    for (const auto* node : affine.nodes) c.absorb(*node, result);
    return;
  }
  auto bias_expression = c.has_input(2) ? c.input(2) : "None";
  c.assign(0, fmt::format("{}({}, {}, {}, {})", function, x, c.input(1), bias_expression, arguments));
}

void convert_conv(NodeContext& c) {
  auto* weight = c.constant(1);
  auto rank = weight ? std::optional<int64_t>(weight->dim()) : c.input_rank(1);
  c.require(rank && *rank >= 3 && *rank <= 5, "Conv whose weight rank is unknown or not 3-5");
  int64_t spatial = *rank - 2;
  std::vector<int64_t> kernel;
  if (weight) kernel.assign(weight->sizes().begin() + 2, weight->sizes().end());
  else kernel = c.attr_ints("kernel_shape").value_or(std::vector<int64_t>{});
  // A weight computed in the graph (onnx-asr's resamplers build a sinc kernel) without kernel_shape:
  // its shape, where inference knows it.
  if (auto dims = c.input_dims(1); kernel.empty() && dims && std::all_of(dims->begin(), dims->end(), [](int64_t d) { return d > 0; })) {
    kernel.assign(dims->begin() + 2, dims->end());
  }
  c.require(static_cast<int64_t>(kernel.size()) == spatial, "Conv without a known kernel shape");
  auto g = conv_geometry(c, spatial, kernel);
  auto x = padded_input(c, g);
  // A 2-D convolution over a one-wide input with a one-wide kernel and no width padding (how tf2onnx
  // writes TensorFlow's Conv1D) runs as conv1d over the height: LibTorch's oneDNN kernels vectorize
  // along the width, and Magika's 5x1 convolution over 512x1 took 44.4 ms as conv2d against 9.1 ms as
  // conv1d (the same values; docs/benchmarks.md).
  const auto dims = c.input_dims(0);
  const bool as_layer = weight && (c.constant(2) || !c.has_input(2));  // what emit_convolution makes a layer
  const bool width_one = spatial == 2 && as_layer && kernel[1] == 1 && dims && dims->size() == 4 && (*dims)[3] == 1 &&
                         g.padding.extra.empty() && g.padding.symmetric[1] == 0;
  const size_t kept = width_one ? 1 : g.strides.size();
  auto first = [&](const std::vector<int64_t>& values) {
    return int_list_literal(std::vector<int64_t>(values.begin(), values.begin() + kept));
  };
  auto arguments = fmt::format("{}, {}, {}, {}", first(g.strides), first(g.padding.symmetric), first(g.dilations),
                               c.attr_int("group", 1));
  emit_convolution(c, "Conv", spatial, x, arguments, width_one);
}

void convert_conv_transpose(NodeContext& c) {
  auto* weight = c.constant(1);
  auto rank = weight ? std::optional<int64_t>(weight->dim()) : c.input_rank(1);
  c.require(rank && *rank >= 3 && *rank <= 5, "ConvTranspose whose weight rank is unknown or not 3-5");
  int64_t spatial = *rank - 2;
  c.require(!c.attribute("output_shape"), "ConvTranspose with output_shape");
  auto auto_pad = c.attr_string("auto_pad", "NOTSET");
  c.require(auto_pad == "NOTSET" || auto_pad == "VALID", "ConvTranspose with auto_pad " + auto_pad);
  auto strides = c.attr_ints("strides").value_or(std::vector<int64_t>(spatial, 1));
  auto dilations = c.attr_ints("dilations").value_or(std::vector<int64_t>(spatial, 1));
  auto pads = c.attr_ints("pads").value_or(std::vector<int64_t>(2 * spatial, 0));
  if (auto_pad == "VALID") std::fill(pads.begin(), pads.end(), 0);
  auto output_padding = c.attr_ints("output_padding").value_or(std::vector<int64_t>(spatial, 0));
  const auto size = static_cast<size_t>(spatial);
  c.require(strides.size() == size && dilations.size() == size && output_padding.size() == size &&
                pads.size() == 2 * size,
            "ConvTranspose whose strides, dilations, output_padding or pads do not match its spatial rank");
  std::vector<int64_t> padding(pads.begin(), pads.begin() + spatial);
  for (int64_t i = 0; i < spatial; ++i) {
    // An end pad smaller than the begin pad is the same as output_padding on a symmetric one.
    int64_t difference = pads[i] - pads[i + spatial];
    c.require(difference >= 0, "ConvTranspose with a larger end pad than begin pad");
    output_padding[i] += difference;
  }
  auto arguments = fmt::format("{}, {}, {}, {}, {}", int_list_literal(strides), int_list_literal(padding),
                               int_list_literal(output_padding), c.attr_int("group", 1), int_list_literal(dilations));
  emit_convolution(c, "ConvTranspose", spatial, c.input(0), arguments);
}

// ConvInteger: (x - x_zero_point) conv (w - w_zero_point) as int32, padding with zeros after the
// shift (i.e. with the zero point). Computed in floats on integer values: float32 when every
// partial sum stays an integer below 2^24 (K = in-channels per group x kernel size products of
// at most 255 x 255 each: K <= 258), which ONNX Runtime can run once exported; float64 (exact below
// 2^53) otherwise. Rounded before the cast, so a kernel that reorders the sum cannot truncate.
void convert_conv_integer(NodeContext& c) {
  auto rank = c.input_rank(1);
  c.require(rank && *rank >= 3 && *rank <= 5, "ConvInteger whose weight rank is unknown or not 3-5");
  int64_t spatial = *rank - 2;
  auto dims = *c.input_dims(1);
  std::vector<int64_t> kernel = c.attr_ints("kernel_shape").value_or(std::vector<int64_t>(dims.begin() + 2, dims.end()));
  for (auto k : kernel) c.require(k > 0, "ConvInteger without a known kernel shape");
  int64_t products = dims[1];  // per output value: in-channels per group x kernel size (-1: unknown)
  for (auto k : kernel) products *= k;
  const int type = products > 0 && products * 255 * 255 < (int64_t{1} << 24) ? 6 : 7;  // float32 : float64
  auto g = conv_geometry(c, spatial, kernel);
  auto x = fmt::format("{}.to({})", c.input(0), type);
  if (c.has_input(2)) x = fmt::format("torch.sub({}, {}.to({}))", x, c.input(2), type);
  auto w = fmt::format("{}.to({})", c.input(1), type);
  if (c.has_input(3)) {
    // a 1-D weight zero point is per output channel
    std::vector<int64_t> shape(static_cast<size_t>(spatial + 2), 1);
    shape[0] = -1;
    w = fmt::format("torch.sub({0}, {1}.to({3}).reshape({2}) if {1}.dim() == 1 else {1}.to({3}))", w, c.input(3),
                    int_list_literal(shape), type);
  }
  if (!g.padding.extra.empty()) x = fmt::format("{}({}, {}, 'constant', 0.0)", c.helper("_pad"), x, int_list_literal(g.padding.extra));
  c.assign(0, fmt::format("torch.round(torch.conv{}d({}, {}, None, {}, {}, {}, {})).to({})", spatial, x, w,
                          int_list_literal(g.strides), int_list_literal(g.padding.symmetric), int_list_literal(g.dilations),
                          c.attr_int("group", 1), dtype_code(at::kInt)));
}

// Col2Im (opset 18): aten::col2im (torch's fold) for 2 spatial dims with symmetric padding, the _col2im
// helper (a scatter-add by index) for any other rank or padding.
void convert_col2im(NodeContext& c) {
  const auto spatial = c.input_dims(1);
  c.require(spatial && spatial->size() == 1 && (*spatial)[0] >= 1, "Col2Im whose image_shape is not a 1-D list");
  const auto rank = static_cast<size_t>((*spatial)[0]);
  auto ones = std::vector<int64_t>(rank, 1);
  auto pads = c.attr_ints("pads").value_or(std::vector<int64_t>(2 * rank, 0));
  auto dilations = c.attr_ints("dilations").value_or(ones), strides = c.attr_ints("strides").value_or(ones);
  c.require(pads.size() == 2 * rank && dilations.size() == rank && strides.size() == rank,
            "Col2Im whose pads, dilations or strides do not match image_shape's length");
  if (rank == 2 && pads[0] == pads[2] && pads[1] == pads[3]) {
    c.assign(0, fmt::format("torch.col2im({}, {}, {}, {}, {}, {})", c.input(0), c.int_list_input(1),
                            c.int_list_input(2), int_list_literal(dilations), int_list_literal({pads[0], pads[1]}),
                            int_list_literal(strides)));
    return;
  }
  c.assign(0, fmt::format("{}({}, {}, {}, {}, {}, {})", c.helper("_col2im"), c.input(0), c.int_list_input(1),
                          c.int_list_input(2), int_list_literal(dilations), int_list_literal(pads),
                          int_list_literal(strides)));
}

}  // namespace

std::vector<ConverterEntry> conv_converters() {
  return {
      {"", "Conv", 1, kMaxOpset, convert_conv},
      {"", "ConvTranspose", 1, kMaxOpset, convert_conv_transpose},
      {"", "ConvInteger", 10, kMaxOpset, convert_conv_integer},
      {"", "Col2Im", 18, kMaxOpset, convert_col2im},
  };
}

}  // namespace mopt::onnx_import
