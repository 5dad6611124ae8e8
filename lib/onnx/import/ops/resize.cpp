// Resize (opset 10+) and Upsample (7-9). Two routes:
// - LibTorch's upsample kernels, for the modes they compute exactly: nearest with asymmetric
//   coordinates and floor rounding (PyTorch's "nearest", or any nearest by computed indices),
//   linear/cubic with half_pixel or pytorch_half_pixel (align_corners=False) or align_corners;
// - everything else ONNX defines (other coordinate transforms, tf_crop_and_resize, exclude_outside,
//   cubic_coeff_a, antialias, keep_aspect_ratio_policy, axes with run-time scales, resized batch or
//   channel dims): helpers.cpp's _resize_reference, onnx.reference's separable Resize ported to
//   TorchScript, in float64 (one gather and weighted sum per resized axis: slower, exact).
#include <fmt/format.h>

#include <algorithm>

#include "lib/onnx/import/converter_table.h"

namespace mopt::onnx_import {
namespace {

int scales_input(NodeContext& c) { return c.op_type() == "Upsample" ? 1 : (c.opset() == 10 ? 1 : 2); }

// Constant scales (all dims; the listed axes' scales, 1 for the others), or nullopt when there are
// none or they are known only at run time.
std::optional<std::vector<double>> constant_scales(NodeContext& c, const std::optional<std::vector<int64_t>>& axes,
                                                   std::optional<int64_t> rank) {
  if (c.op_type() == "Upsample" && c.opset() < 9) return c.attr_floats("scales");
  const int input = scales_input(c);
  auto* constant = c.has_input(input) ? c.constant(input) : nullptr;
  if (!constant || constant->numel() == 0) return std::nullopt;
  auto flat = constant->to(at::kDouble).contiguous();
  std::vector<double> scales(flat.data_ptr<double>(), flat.data_ptr<double>() + flat.numel());
  if (axes) {
    c.require(rank && scales.size() == axes->size(), "Resize whose scales do not match its axes");
    std::vector<double> full(static_cast<size_t>(*rank), 1.0);
    for (size_t i = 0; i < axes->size(); ++i) full[static_cast<size_t>((*axes)[i])] = scales[i];
    scales = full;
  }
  return scales;
}

bool has_scales(NodeContext& c) {
  if (c.op_type() == "Upsample" && c.opset() < 9) return true;
  const int input = scales_input(c);
  return c.has_input(input) && !(c.constant(input) && c.constant(input)->numel() == 0);
}

// Whether LibTorch's upsample kernels compute this Resize exactly (else the reference route).
bool upsample_kernels_fit(NodeContext& c, const std::optional<std::vector<int64_t>>& axes, std::optional<int64_t> rank) {
  if (c.op_type() == "Upsample" || c.opset() < 11) return true;  // asymmetric nearest/linear: the kernels' own
  const auto mode = c.attr_string("mode", "nearest");
  const auto transform = c.attr_string("coordinate_transformation_mode", "half_pixel");
  if (c.attr_int("exclude_outside", 0) != 0 || c.attr_string("keep_aspect_ratio_policy", "stretch") != "stretch") return false;
  if (c.attr_int("antialias", 0) != 0 && mode != "nearest") return false;
  const auto scales = constant_scales(c, axes, rank);
  const bool runtime_scales = !scales && has_scales(c);
  if (runtime_scales && axes) return false;
  if (scales && ((*scales)[0] != 1.0 || (*scales)[1] != 1.0)) return false;  // resizes the batch or channel dim
  if (mode == "nearest") {
    const std::vector<std::string> transforms = {"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric",
                                                 "tf_half_pixel_for_nn"};
    const std::vector<std::string> roundings = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
    return std::count(transforms.begin(), transforms.end(), transform) > 0 &&
           std::count(roundings.begin(), roundings.end(), c.attr_string("nearest_mode", "round_prefer_floor")) > 0;
  }
  if (transform != "half_pixel" && transform != "pytorch_half_pixel" && transform != "align_corners") return false;
  if (transform == "align_corners") {
    if (runtime_scales) return false;  // shrinking to one pixel divides by zero in ONNX's formula
    if (scales && std::any_of(scales->begin(), scales->end(), [](double s) { return s < 1.0; })) return false;
  }
  if (transform == "pytorch_half_pixel" && !scales && !runtime_scales) {
    // It differs from half_pixel (what LibTorch computes) only where an output dim is 1.
    auto sizes = c.constant_ints(3);
    if (!sizes || std::count(sizes->begin(), sizes->end(), 1) > 0) return false;
  }
  const int64_t spatial = scales ? static_cast<int64_t>(scales->size()) - 2 : rank ? *rank - 2 : -1;
  if (mode == "linear") return spatial >= 1 && spatial <= 3;
  return mode == "cubic" && spatial == 2 && std::abs(c.attr_float("cubic_coeff_a", -0.75) + 0.75) < 1e-6;
}

// Resize as ONNX defines it, for what the upsample kernels do not compute.
void convert_resize_reference(NodeContext& c, const std::optional<std::vector<int64_t>>& axes) {
  const auto mode = c.attr_string("mode", "nearest");
  c.require(mode == "nearest" || mode == "linear" || mode == "cubic", "resize mode " + mode);
  c.require(mode != "nearest" || c.attr_int("antialias", 0) == 0, "antialiased nearest Resize (ONNX does not define it)");
  const auto policy = c.attr_string("keep_aspect_ratio_policy", "stretch");
  c.require(policy == "stretch" || policy == "not_larger" || policy == "not_smaller", "keep_aspect_ratio_policy " + policy);
  const auto transform = c.attr_string("coordinate_transformation_mode", "half_pixel");
  const std::vector<std::string> transforms = {"half_pixel", "half_pixel_symmetric", "pytorch_half_pixel", "align_corners",
                                               "asymmetric", "tf_crop_and_resize", "tf_half_pixel_for_nn"};
  c.require(std::count(transforms.begin(), transforms.end(), transform) > 0, "resize with " + transform + " coordinates");
  const auto rounding = c.attr_string("nearest_mode", "round_prefer_floor");
  const std::vector<std::string> roundings = {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"};
  c.require(std::count(roundings.begin(), roundings.end(), rounding) > 0, "nearest resize with " + rounding);

  std::string roi = "None", scales = "None", sizes = "None";
  if (c.has_input(1) && !(c.constant(1) && c.constant(1)->numel() == 0)) roi = fmt::format("{}({})", c.helper("_floats"), c.input(1));
  if (has_scales(c)) {
    scales = fmt::format("{}({})", c.helper("_floats"), c.input(scales_input(c)));
  } else {
    c.require(c.has_input(3), "Resize without scales or sizes");
    sizes = c.int_list_input(3);
  }
  c.require(transform != "tf_crop_and_resize" || roi != "None", "tf_crop_and_resize without a roi");
  c.assign(0, fmt::format("{}({}, {}, {}, {}, {}, '{}', '{}', '{}', {}, {}, {}, {}, '{}')", c.helper("_resize_reference"),
                          c.input(0), sizes, scales, int_list_literal(axes.value_or(std::vector<int64_t>{})), roi, mode,
                          transform, rounding, float_literal(c.attr_float("cubic_coeff_a", -0.75)),
                          c.attr_int("exclude_outside", 0) ? "True" : "False",
                          float_literal(c.attr_float("extrapolation_value", 0.0)), c.attr_int("antialias", 0) ? "True" : "False",
                          policy));
}

std::string interpolation_mode(NodeContext& c, const std::string& mode, int64_t spatial, std::string& align_corners) {
  if (mode == "nearest") {
    if (c.op_type() == "Upsample" || c.opset() < 11) return "nearest";  // asymmetric + floor before opset 11
    auto transform = c.attr_string("coordinate_transformation_mode", "half_pixel");
    if (transform == "asymmetric" && c.attr_string("nearest_mode", "round_prefer_floor") == "floor") return "nearest";
    return "nearest_indexed";  // the source index of every output pixel, computed as ONNX defines it
  }
  c.require(c.op_type() == "Resize", "Upsample in linear mode (asymmetric coordinates)");
  if (c.attr_string("coordinate_transformation_mode", "half_pixel") == "align_corners") align_corners = "True";
  if (mode == "linear") return spatial == 1 ? "linear" : spatial == 2 ? "bilinear" : "trilinear";  // + "{spatial}d"
  return "bicubic";
}

void convert_resize(NodeContext& c) {
  // Opset 18: scales/sizes may name some axes only (the others keep their size).
  auto axes = c.attr_ints("axes");
  const auto rank = c.input_rank(0);
  c.require(!axes || rank, "Resize with axes on an input of unknown rank");
  if (axes) {
    for (auto& axis : *axes) axis = normalize_axis(c, axis, *rank);
  }
  if (!upsample_kernels_fit(c, axes, rank)) return convert_resize_reference(c, axes);
  auto mode = c.attr_string("mode", "nearest");
  auto x = c.input(0);
  const auto scales = constant_scales(c, axes, rank);
  std::string sizes, runtime_scales;
  if (!scales && has_scales(c)) {
    runtime_scales = fmt::format("{}({})[2:]", c.helper("_floats"), c.input(scales_input(c)));
  } else if (!scales) {
    c.require(c.has_input(3), "Resize without scales or sizes");
    sizes = c.int_list_input(3);
    if (axes) {  // the listed axes' sizes, the input's own for the others
      std::vector<std::string> full;
      for (int64_t i = 0; i < *rank; ++i) full.push_back(fmt::format("{}.size({})", x, i));
      for (size_t i = 0; i < axes->size(); ++i) full[static_cast<size_t>((*axes)[i])] = fmt::format("{}[{}]", sizes, i);
      sizes = fmt::format("[{}]", fmt::join(full, ", "));
    }
  }
  c.require(scales || rank, "Resize of an input whose rank is unknown");
  const int64_t spatial = scales ? static_cast<int64_t>(scales->size()) - 2 : *rank - 2;
  if (scales) c.require((*scales)[0] == 1.0 && (*scales)[1] == 1.0, "Upsample of the batch or channel dim");
  std::string align_corners = "False";
  auto torch_mode = interpolation_mode(c, mode, spatial, align_corners);
  std::string size = "None", factors = "None";
  if (scales) {
    std::vector<std::string> values;
    for (size_t i = 2; i < scales->size(); ++i) values.push_back(float_literal((*scales)[i]));
    factors = fmt::format("[{}]", fmt::join(values, ", "));
  } else if (!runtime_scales.empty()) {
    factors = runtime_scales;
  } else {
    size = fmt::format("{}[2:]", sizes);
  }
  // The .vec overloads of aten's upsample kernels, as torch.nn.functional.interpolate calls them.
  if (torch_mode == "nearest_indexed") {
    c.assign(0, fmt::format("{}({}, {}, {}, '{}', '{}')", c.helper("_resize_nearest"), x, size, factors,
                            c.attr_string("coordinate_transformation_mode", "half_pixel"),
                            c.attr_string("nearest_mode", "round_prefer_floor")));
  } else if (torch_mode == "nearest") {
    c.assign(0, fmt::format("torch.upsample_nearest{}d({}, {}, {})", spatial, x, size, factors));
  } else {
    c.assign(0, fmt::format("torch.upsample_{}{}d({}, {}, {}, {})", torch_mode, spatial, x, size, align_corners, factors));
  }
}

// GridSample (opset 16) is defined as PyTorch's grid_sample: aten::grid_sampler with the same
// modes (bilinear 0, nearest 1, bicubic 2), padding modes (zeros 0, border 1, reflection 2) and
// align_corners. Opset 20 renames the modes linear and cubic and allows volumes (5-D, not cubic).
void convert_grid_sample(NodeContext& c) {
  auto mode = c.attr_string("mode", c.opset() >= 20 ? "linear" : "bilinear");
  auto padding = c.attr_string("padding_mode", "zeros");
  int interpolation = mode == "bilinear" || mode == "linear" ? 0 : mode == "nearest" ? 1
                      : mode == "bicubic" || mode == "cubic" ? 2 : -1;
  int padding_code = padding == "zeros" ? 0 : padding == "border" ? 1 : padding == "reflection" ? 2 : -1;
  c.require(interpolation >= 0, "GridSample mode " + mode);
  c.require(padding_code >= 0, "GridSample padding_mode " + padding);
  const auto rank = c.input_rank(0).value_or(4);
  c.require(rank == 4 || (rank == 5 && interpolation != 2), "GridSample on inputs other than 4-D (or 5-D, not cubic)");
  c.assign(0, fmt::format("torch.grid_sampler({}, {}, {}, {}, {})", c.input(0), c.input(1), interpolation, padding_code,
                          c.attr_int("align_corners", 0) ? "True" : "False"));
}

// AffineGrid (opset 20) is PyTorch's affine_grid: the sampling grid of a batch of affine matrices.
void convert_affine_grid(NodeContext& c) {
  c.assign(0, fmt::format("torch.affine_grid_generator({}, {}, {})", c.input(0), c.int_list_input(1),
                          c.attr_int("align_corners", 0) ? "True" : "False"));
}

}  // namespace

std::vector<ConverterEntry> resize_converters() {
  return {
      {"", "Resize", 10, kMaxOpset, convert_resize},
      {"", "Upsample", 7, 9, convert_resize},
      {"", "GridSample", 16, kMaxOpset, convert_grid_sample},
      {"", "AffineGrid", 20, kMaxOpset, convert_affine_grid},
  };
}

}  // namespace mopt::onnx_import
