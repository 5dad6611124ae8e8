// Layers: convolution (also transposed), linear, normalization, pooling and upsampling.
#include <algorithm>

#include <fmt/format.h>

#include <limits>

#include "lib/onnx/export/export_context.h"

namespace mopt::onnx_export {
namespace {

// ONNX pads repeat the symmetric torch padding for the begin and end of each spatial dim.
std::vector<int64_t> onnx_pads(const std::vector<int64_t>& padding) {
  std::vector<int64_t> pads(padding);
  pads.insert(pads.end(), padding.begin(), padding.end());
  return pads;
}

std::vector<int64_t> ints_or_fail(ExportContext& c, const torch::jit::Node* node, size_t i, const char* what) {
  auto values = c.constant_ints(node->input(i));
  if (!values) unsupported(node, fmt::format("{} computed at run time", what));
  return *values;
}

// aten::conv{1,2,3}d(input, weight, bias, stride, padding, dilation, groups) and
// aten::_convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding, groups, ...).
void translate_conv(ExportContext& c, const torch::jit::Node* node) {
  const bool general = node->kind().toQualString() == std::string("aten::_convolution");
  if (general && c.constant_int(node->input(6)).value_or(1) != 0) unsupported(node, "transposed convolution");
  auto stride = ints_or_fail(c, node, 3, "stride");
  auto padding = c.constant_ints(node->input(4));
  if (!padding) unsupported(node, "padding given as a string or at run time");
  auto dilation = ints_or_fail(c, node, 5, "dilation");
  auto groups = c.constant_int(node->input(general ? 8 : 6));
  if (!groups) unsupported(node, "groups computed at run time");
  std::vector<std::string> inputs = {c.name(node->input(0)), c.name(node->input(1))};
  if (!c.is_none(node->input(2))) inputs.push_back(c.name(node->input(2)));
  auto& conv = c.add_node("Conv", inputs, {c.fresh(node->output())});
  set_ints(conv, "strides", stride);
  set_ints(conv, "pads", onnx_pads(*padding));
  set_ints(conv, "dilations", dilation);
  set_int(conv, "group", *groups);
}

// aten::conv_transpose{1,2,3}d(input, weight, bias, stride, padding, output_padding, groups, dilation)
// -> ConvTranspose with the same geometry.
void translate_conv_transpose(ExportContext& c, const torch::jit::Node* node) {
  auto stride = ints_or_fail(c, node, 3, "stride");
  auto padding = ints_or_fail(c, node, 4, "padding");
  auto output_padding = ints_or_fail(c, node, 5, "output padding");
  auto groups = c.constant_int(node->input(6));
  if (!groups) unsupported(node, "groups computed at run time");
  auto dilation = ints_or_fail(c, node, 7, "dilation");
  std::vector<std::string> inputs = {c.name(node->input(0)), c.name(node->input(1))};
  if (!c.is_none(node->input(2))) inputs.push_back(c.name(node->input(2)));
  auto& conv = c.add_node("ConvTranspose", inputs, {c.fresh(node->output())});
  set_ints(conv, "strides", stride);
  set_ints(conv, "pads", onnx_pads(padding));
  set_ints(conv, "output_padding", output_padding);
  set_ints(conv, "dilations", dilation);
  set_int(conv, "group", *groups);
}

// Dims [start, end) of a 1-D shape value (`end` past the last: every dim from `start` on).
std::string shape_dims(ExportContext& c, const std::string& shape, int64_t start, int64_t end, const std::string& hint) {
  auto out = c.fresh(hint);
  c.add_node("Slice", {shape, c.add_ints({start}, "starts"), c.add_ints({end}, "ends")}, {out});
  return out;
}

// Batch and channel dims of a value (its shape's first two).
std::string leading_dims(ExportContext& c, const std::string& value) {
  auto shape = c.fresh("input_shape");
  c.add_node("Shape", {value}, {shape});
  return shape_dims(c, shape, 0, 2, "leading_dims");
}

// A Resize of node's input 0 to a spatial size (int list) or by spatial scale factors (float list;
// constant or an imported model's run-time scales), whichever is not None; the batch and channel
// dims are kept. Its attributes are the caller's.
onnx::NodeProto& resize_node(ExportContext& c, const torch::jit::Node* node, const torch::jit::Value* size_value,
                             const torch::jit::Value* factors_value) {
  std::string scales, sizes;
  if (!c.is_none(size_value)) {
    sizes = c.fresh("sizes");
    set_int(c.add_node("Concat", {leading_dims(c, c.name(node->input(0))), int_list_value(c, node, size_value)}, {sizes}), "axis", 0);
  } else if (auto factors = c.constant(factors_value); factors && factors->isDoubleList()) {
    std::vector<float> values = {1.0f, 1.0f};
    for (double f : factors->toDoubleVector()) values.push_back(static_cast<float>(f));
    scales = c.add_initializer(at::tensor(values), "scales");
  } else if (c.is_bound(factors_value)) {
    scales = c.fresh("scales");
    set_int(c.add_node("Concat", {c.add_initializer(at::ones({2}), "leading_scales"), c.name(factors_value)}, {scales}), "axis", 0);
  } else {
    unsupported(node, "neither an output size nor scale factors");
  }
  auto& resize = c.add_node("Resize", {c.name(node->input(0)), "", scales, sizes}, {c.fresh(node->output())});
  if (sizes.empty()) resize.mutable_input()->RemoveLast();  // ONNX drops trailing empty inputs
  return resize;
}

// aten::upsample_nearest{1,2,3}d(input, output_size, scale_factors) and
// aten::upsample_(bi|tri)linear*d(input, output_size, align_corners, scale_factors) -> Resize with
// torch's coordinate rules: nearest floors asymmetric coordinates; linear and cubic use half pixels
// or corner alignment. Not "pytorch_half_pixel" (what torch.onnx.export writes): it maps an output
// dim of size 1 to source 0, where torch (and ONNX's half_pixel) take the centre.
void translate_upsample(ExportContext& c, const torch::jit::Node* node) {
  const std::string kind = node->kind().toUnqualString();
  const bool nearest = kind.rfind("upsample_nearest", 0) == 0;
  auto& resize = resize_node(c, node, node->input(1), node->input(nearest ? 2 : 3));
  if (nearest) {
    set_string(resize, "mode", "nearest");
    set_string(resize, "coordinate_transformation_mode", "asymmetric");
    set_string(resize, "nearest_mode", "floor");
    return;
  }
  auto align_corners = c.constant_int(node->input(2));
  if (!align_corners) unsupported(node, "align_corners computed at run time");
  set_string(resize, "mode", kind.find("cubic") != std::string::npos ? "cubic" : "linear");
  set_string(resize, "coordinate_transformation_mode", *align_corners ? "align_corners" : "half_pixel");
  if (kind.find("cubic") != std::string::npos) set_float(resize, "cubic_coeff_a", -0.75f);  // torch's
}

// The importer's _resize_nearest(x, sizes, scales, transform, rounding) (helper_calls.h): ONNX's
// nearest Resize with its coordinate transform and rounding as given; neither sizes nor scales
// keeps x as it is.
void translate_resize_nearest(ExportContext& c, const torch::jit::Node* node) {
  if (c.is_none(node->input(1)) && c.is_none(node->input(2))) {
    c.bind(node->output(), c.name(node->input(0)));
    return;
  }
  auto transform = c.constant_string(node->input(3)), rounding = c.constant_string(node->input(4));
  if (!transform || !rounding) unsupported(node, "modes computed at run time");
  auto& resize = resize_node(c, node, node->input(1), node->input(2));
  set_string(resize, "mode", "nearest");
  set_string(resize, "coordinate_transformation_mode", *transform);
  set_string(resize, "nearest_mode", *rounding);
}

// aten::pixel_shuffle(x, r) -> DepthToSpace in column-row-depth order.
void translate_pixel_shuffle(ExportContext& c, const torch::jit::Node* node) {
  auto factor = c.constant_int(node->input(1));
  if (!factor) unsupported(node, "a run-time factor");
  auto& op = c.add_node("DepthToSpace", {c.name(node->input(0))}, {c.fresh(node->output())});
  set_int(op, "blocksize", *factor);
  set_string(op, "mode", "CRD");
}

// aten::linear(input, weight, bias): MatMul by the transposed weight (any input rank), then Add.
void translate_linear(ExportContext& c, const torch::jit::Node* node) {
  auto weight = c.constant(node->input(1));
  if (!weight || !weight->isTensor()) unsupported(node, "a weight computed at run time");
  auto transposed = c.add_initializer(weight->toTensor().t().contiguous(), "weight_t");
  const bool bias = !c.is_none(node->input(2));
  auto product = bias ? c.fresh("matmul") : c.fresh(node->output());
  c.add_node("MatMul", {c.name(node->input(0)), transposed}, {product});
  if (bias) c.add_node("Add", {product, c.name(node->input(2))}, {c.fresh(node->output())});
}

// aten::batch_norm(input, weight, bias, running_mean, running_var, training, momentum, eps, cudnn)
void translate_batch_norm(ExportContext& c, const torch::jit::Node* node) {
  if (c.constant_int(node->input(5)).value_or(1) != 0) unsupported(node, "batch norm in training mode");
  // A missing scale or shift takes its channel count from constant running statistics.
  auto channels = [&] {
    auto mean = c.constant(node->input(3));
    if (!mean || !mean->isTensor()) unsupported(node, "no scale or shift, and running statistics computed at run time");
    return mean->toTensor().size(0);
  };
  auto scale = c.is_none(node->input(1)) ? c.add_initializer(at::ones({channels()}), "bn_scale") : c.name(node->input(1));
  auto shift = c.is_none(node->input(2)) ? c.add_initializer(at::zeros({channels()}), "bn_bias") : c.name(node->input(2));
  auto& bn = c.add_node("BatchNormalization",
                        {c.name(node->input(0)), scale, shift, c.name(node->input(3)), c.name(node->input(4))},
                        {c.fresh(node->output())});
  set_float(bn, "epsilon", static_cast<float>(c.constant_double(node->input(7)).value_or(1e-5)));
}

// aten::instance_norm(input, weight, bias, running_mean, running_var, use_input_stats, momentum, eps,
// cudnn) with the input's statistics -> InstanceNormalization.
void translate_instance_norm(ExportContext& c, const torch::jit::Node* node) {
  if (c.constant_int(node->input(5)).value_or(0) != 1) unsupported(node, "running statistics instead of the input's");
  if (c.is_none(node->input(1)) || c.is_none(node->input(2))) unsupported(node, "no scale or shift");
  auto& norm = c.add_node("InstanceNormalization", {c.name(node->input(0)), c.name(node->input(1)), c.name(node->input(2))},
                          {c.fresh(node->output())});
  set_float(norm, "epsilon", static_cast<float>(c.constant_double(node->input(7)).value_or(1e-5)));
}

// aten::grid_sampler(input, grid, mode, padding_mode, align_corners) -> GridSample (opset 16), which
// ONNX defines as PyTorch's.
void translate_grid_sampler(ExportContext& c, const torch::jit::Node* node) {
  auto mode = c.constant_int(node->input(2)), padding = c.constant_int(node->input(3)), align = c.constant_int(node->input(4));
  if (!mode || !padding || !align || *mode < 0 || *mode > 2 || *padding < 0 || *padding > 2) unsupported(node, "modes computed at run time");
  // Opset 20 renamed the modes (ONNX Runtime refuses the old names there).
  static const char* kModes[] = {"bilinear", "nearest", "bicubic"};
  static const char* kModes20[] = {"linear", "nearest", "cubic"};
  static const char* kPaddings[] = {"zeros", "border", "reflection"};
  auto& sample = c.add_node("GridSample", {c.name(node->input(0)), c.name(node->input(1))}, {c.fresh(node->output())});
  set_string(sample, "mode", (c.opset() >= 20 ? kModes20 : kModes)[*mode]);
  set_string(sample, "padding_mode", kPaddings[*padding]);
  set_int(sample, "align_corners", *align);
}

// aten::layer_norm(input, normalized_shape, weight, bias, eps, cudnn) -> LayerNormalization (opset 17).
void translate_layer_norm(ExportContext& c, const torch::jit::Node* node) {
  auto shape = ints_or_fail(c, node, 1, "normalized_shape");
  auto scale = c.is_none(node->input(2)) ? c.add_initializer(at::ones(shape), "ln_scale") : c.name(node->input(2));
  std::vector<std::string> inputs = {c.name(node->input(0)), scale};
  if (!c.is_none(node->input(3))) inputs.push_back(c.name(node->input(3)));
  auto& ln = c.add_node("LayerNormalization", inputs, {c.fresh(node->output())});
  set_int(ln, "axis", -static_cast<int64_t>(shape.size()));
  set_float(ln, "epsilon", static_cast<float>(c.constant_double(node->input(4)).value_or(1e-5)));
}

// The offset of each (n, c) plane of an [N, C, spatial...] tensor whose first two dims are `leading`
// and whose planes hold `plane_size` elements, shaped [N, C, 1...] (`spatial` ones): torch's pooling
// indices count within a plane, ONNX's over the whole tensor.
std::string plane_offsets(ExportContext& c, const std::string& leading, const std::string& plane_size, size_t spatial) {
  auto planes = c.fresh("planes"), index = c.fresh("plane_index"), target = c.fresh("plane_shape"),
       shaped = c.fresh("plane_index_shaped"), offsets = c.fresh("plane_offsets");
  c.add_reduce("ReduceProd", leading, {}, 0, planes);
  c.add_node("Range", {c.add_initializer(at::scalar_tensor(0, at::kLong), "zero"), planes,
                       c.add_initializer(at::scalar_tensor(1, at::kLong), "one")},
             {index});
  set_int(c.add_node("Concat", {leading, c.add_ints(std::vector<int64_t>(spatial, 1), "ones")}, {target}), "axis", 0);
  c.add_node("Reshape", {index, target}, {shaped});
  c.add_node("Mul", {shaped, plane_size}, {offsets});
  return offsets;
}

// The product of the dims of a 1-D size value (the elements of one plane).
std::string product_of(ExportContext& c, const std::string& sizes) {
  auto out = c.fresh("plane_size");
  c.add_reduce("ReduceProd", sizes, {}, 0, out);
  return out;
}

// aten::max_pool{1,2,3}d(input, kernel, stride, padding, dilation, ceil_mode); the _with_indices
// form also gives the argmax of each window, within its (n, c) plane of the input.
void translate_max_pool(ExportContext& c, const torch::jit::Node* node) {
  auto kernel = ints_or_fail(c, node, 1, "kernel size");
  auto stride = ints_or_fail(c, node, 2, "stride");
  if (stride.empty()) stride = kernel;  // torch's default
  const bool indices = node->outputs().size() == 2;
  auto flat_indices = indices ? c.fresh("flat_indices") : "";
  std::vector<std::string> outputs = {c.fresh(node->output(0))};
  if (indices) outputs.push_back(flat_indices);
  auto& pool = c.add_node("MaxPool", {c.name(node->input(0))}, outputs);
  set_ints(pool, "kernel_shape", kernel);
  set_ints(pool, "strides", stride);
  set_ints(pool, "pads", onnx_pads(ints_or_fail(c, node, 3, "padding")));
  set_ints(pool, "dilations", ints_or_fail(c, node, 4, "dilation"));
  set_int(pool, "ceil_mode", c.constant_int(node->input(5)).value_or(0));
  if (!indices) return;
  auto shape = c.fresh("input_shape");
  c.add_node("Shape", {c.name(node->input(0))}, {shape});
  auto plane = product_of(c, shape_dims(c, shape, 2, std::numeric_limits<int64_t>::max(), "spatial_dims"));
  c.add_node("Sub", {flat_indices, plane_offsets(c, shape_dims(c, shape, 0, 2, "leading_dims"), plane, kernel.size())},
             {c.fresh(node->output(1))});
}

// aten::max_unpool2d(x, indices, output_size) -> MaxUnpool with the output shape given (so its
// kernel attribute, which torch does not have, plays no part) and the indices made ONNX's.
void translate_max_unpool(ExportContext& c, const torch::jit::Node* node) {
  auto out_shape = c.fresh("output_shape"), flat = c.fresh("flat_indices");
  auto leading = leading_dims(c, c.name(node->input(0)));
  auto size = int_list_value(c, node, node->input(2));
  set_int(c.add_node("Concat", {leading, size}, {out_shape}), "axis", 0);
  c.add_node("Add", {c.as_type(node->input(1), at::kLong), plane_offsets(c, leading, product_of(c, size), 2)}, {flat});
  auto& unpool = c.add_node("MaxUnpool", {c.name(node->input(0)), flat, out_shape}, {c.fresh(node->output())});
  set_ints(unpool, "kernel_shape", {1, 1});
}

// aten::avg_pool{1,2,3}d(input, kernel, stride, padding, ceil_mode, count_include_pad[, divisor_override])
void translate_avg_pool(ExportContext& c, const torch::jit::Node* node) {
  if (node->inputs().size() > 6 && !c.is_none(node->input(6))) unsupported(node, "divisor_override");
  auto kernel = ints_or_fail(c, node, 1, "kernel size");
  auto stride = ints_or_fail(c, node, 2, "stride");
  if (stride.empty()) stride = kernel;
  auto& pool = c.add_node("AveragePool", {c.name(node->input(0))}, {c.fresh(node->output())});
  set_ints(pool, "kernel_shape", kernel);
  set_ints(pool, "strides", stride);
  set_ints(pool, "pads", onnx_pads(ints_or_fail(c, node, 3, "padding")));
  set_int(pool, "ceil_mode", c.constant_int(node->input(4)).value_or(0));
  set_int(pool, "count_include_pad", c.constant_int(node->input(5)).value_or(1));
}

// aten::adaptive_avg_pool{1,2,3}d(input, output_size). To all ones it is a global average. To other sizes it
// is an average over equal windows wherever each input size is a multiple of the output's (VGG's
// 7x7 and AlexNet's 6x6 on 224x224 inputs): the input is reshaped at run time to
// [N, C, out_h, in_h/out_h, out_w, in_w/out_w] and averaged over the window axes, exact for any such
// size. Other sizes need overlapping windows: refused when the examples show one (ONNX Runtime
// refuses the Reshape of one that only a later input brings).
void translate_adaptive_avg_pool(ExportContext& c, const torch::jit::Node* node) {
  const auto size = ints_or_fail(c, node, 1, "output size");
  const auto input = c.name(node->input(0));
  if (std::all_of(size.begin(), size.end(), [](int64_t s) { return s == 1; })) {
    c.add_node("GlobalAveragePool", {input}, {c.fresh(node->output())});
    return;
  }
  if (auto example = c.example_sizes(node->input(0)); example && example->size() == size.size() + 2) {
    for (size_t i = 0; i < size.size(); ++i) {
      if ((*example)[2 + i] % size[i] != 0) {
        unsupported(node, fmt::format("adaptive pooling of [{}] to [{}] (overlapping windows: only input sizes that are "
                                      "multiples of the output size export)",
                                      fmt::join(example->begin() + 2, example->end(), ", "), fmt::join(size, ", ")));
      }
    }
  }
  auto shape = c.fresh("input_shape");
  c.add_node("Shape", {input}, {shape});
  auto windows = c.fresh("window_sizes");
  c.add_node("Div", {shape_dims(c, shape, 2, 2 + static_cast<int64_t>(size.size()), "spatial_dims"), c.add_ints(size, "pooled_size")},
             {windows});
  std::vector<std::string> parts = {shape_dims(c, shape, 0, 2, "leading_dims")};
  std::vector<int64_t> window_axes;
  for (size_t i = 0; i < size.size(); ++i) {
    parts.push_back(c.add_ints({size[i]}, "pooled_dim"));
    parts.push_back(shape_dims(c, windows, static_cast<int64_t>(i), static_cast<int64_t>(i) + 1, "window_dim"));
    window_axes.push_back(3 + 2 * static_cast<int64_t>(i));
  }
  auto grouped_shape = c.fresh("grouped_shape"), grouped = c.fresh("grouped");
  set_int(c.add_node("Concat", parts, {grouped_shape}), "axis", 0);
  c.add_node("Reshape", {input, grouped_shape}, {grouped});
  c.add_reduce("ReduceMean", grouped, window_axes, 0, c.fresh(node->output()));
}

}  // namespace

std::vector<TranslatorEntry> layer_translators() {
  return {
      {"aten::conv1d", translate_conv},
      {"aten::conv2d", translate_conv},
      {"aten::conv3d", translate_conv},
      {"aten::_convolution", translate_conv},
      {"aten::conv_transpose1d", translate_conv_transpose},
      {"aten::conv_transpose2d", translate_conv_transpose},
      {"aten::conv_transpose3d", translate_conv_transpose},
      {"aten::upsample_nearest1d", translate_upsample},
      {"aten::upsample_nearest2d", translate_upsample},
      {"aten::upsample_nearest3d", translate_upsample},
      {"aten::upsample_linear1d", translate_upsample},
      {"aten::upsample_bilinear2d", translate_upsample},
      {"aten::upsample_trilinear3d", translate_upsample},
      {"aten::upsample_bicubic2d", translate_upsample},
      {"mopt_onnx::_resize_nearest", translate_resize_nearest},
      {"aten::pixel_shuffle", translate_pixel_shuffle},
      {"aten::linear", translate_linear},
      {"aten::batch_norm", translate_batch_norm},
      {"aten::layer_norm", translate_layer_norm},
      {"aten::instance_norm", translate_instance_norm},
      {"aten::grid_sampler", translate_grid_sampler},
      {"aten::max_pool1d", translate_max_pool},
      {"aten::max_pool2d", translate_max_pool},
      {"aten::max_pool3d", translate_max_pool},
      {"aten::max_pool1d_with_indices", translate_max_pool},
      {"aten::max_pool2d_with_indices", translate_max_pool},
      {"aten::max_pool3d_with_indices", translate_max_pool},
      {"aten::max_unpool2d", translate_max_unpool},
      {"aten::avg_pool1d", translate_avg_pool},
      {"aten::avg_pool2d", translate_avg_pool},
      {"aten::avg_pool3d", translate_avg_pool},
      {"aten::adaptive_avg_pool1d", translate_adaptive_avg_pool},
      {"aten::adaptive_avg_pool2d", translate_adaptive_avg_pool},
      {"aten::adaptive_avg_pool3d", translate_adaptive_avg_pool},  // video models (r3d_18, r2plus1d_18)
  };
}

}  // namespace mopt::onnx_export
