// Resize (opset 10+) and Upsample (7-9), for the modes LibTorch's upsample kernels compute
// exactly: nearest with asymmetric coordinates and floor rounding (PyTorch's "nearest"),
// linear/cubic with half_pixel or pytorch_half_pixel (align_corners=False) or align_corners.
// Other combinations are refused by name rather than approximated.
#include <fmt/format.h>

#include <algorithm>

#include "lib/onnx/import/converter_table.h"

namespace mopt::onnx_import {
namespace {

std::string interpolation_mode(NodeContext& c, const std::string& mode, int64_t spatial, std::string& align_corners) {
  if (mode == "nearest") {
    auto transform = c.attr_string("coordinate_transformation_mode", "half_pixel");
    auto rounding = c.attr_string("nearest_mode", "round_prefer_floor");
    if (c.op_type() == "Upsample" || c.opset() < 11) return "nearest";  // asymmetric + floor before opset 11
    if (transform == "asymmetric" && rounding == "floor") return "nearest";  // LibTorch's own nearest
    for (const auto& [value, known] : {std::pair{transform, std::vector<std::string>{"half_pixel", "pytorch_half_pixel",
                                                                                  "align_corners", "asymmetric",
                                                                                  "tf_half_pixel_for_nn"}},
                                       std::pair{rounding, std::vector<std::string>{"round_prefer_floor", "round_prefer_ceil",
                                                                                 "floor", "ceil"}}}) {
      c.require(std::count(known.begin(), known.end(), value) > 0, "nearest resize with " + value);
    }
    return "nearest_indexed";  // the source index of every output pixel, computed as ONNX defines it
  }
  c.require(c.op_type() == "Resize", "Upsample in linear mode (asymmetric coordinates)");
  auto transform = c.attr_string("coordinate_transformation_mode", "half_pixel");
  if (transform == "align_corners") align_corners = "True";
  else c.require(transform == "half_pixel" || transform == "pytorch_half_pixel", "resize with " + transform + " coordinates");
  if (transform == "pytorch_half_pixel" && c.has_input(3)) {
    // It differs from half_pixel (what LibTorch computes) only where an output dim is 1.
    auto sizes = c.constant_ints(3);
    c.require(sizes && std::count(sizes->begin(), sizes->end(), 1) == 0,
              "pytorch_half_pixel resize to a size that may be 1");
  }
  if (mode == "linear") {
    c.require(spatial >= 1 && spatial <= 3, "linear resize of more than 3 spatial dims");
    return spatial == 1 ? "linear" : spatial == 2 ? "bilinear" : "trilinear";  // + "{spatial}d"
  }
  c.require(mode == "cubic" && spatial == 2, "resize mode " + mode);
  c.require(std::abs(c.attr_float("cubic_coeff_a", -0.75) + 0.75) < 1e-6, "cubic resize with cubic_coeff_a other than -0.75");
  return "bicubic";
}

void convert_resize(NodeContext& c) {
  c.require(c.attr_int("exclude_outside", 0) == 0, "Resize with exclude_outside");
  // Opset 18: scales/sizes may name some axes only (the others keep their size); aspect-ratio
  // policies for sizes are refused.
  auto axes = c.attr_ints("axes");
  const auto rank = c.input_rank(0);
  c.require(!axes || rank, "Resize with axes on an input of unknown rank");
  if (axes) {
    for (auto& axis : *axes) axis = normalize_axis(c, axis, *rank);
  }
  c.require(c.attr_string("keep_aspect_ratio_policy", "stretch") == "stretch",
            "Resize with keep_aspect_ratio_policy " + c.attr_string("keep_aspect_ratio_policy", ""));
  // LibTorch's antialiased kernels (_upsample_*_aa) differ from ONNX's definition (by up to 0.27 on
  // the backend tests), so an antialiased shrink is refused rather than approximated.
  c.require(c.attr_int("antialias", 0) == 0 || c.attr_string("mode", "nearest") == "nearest", "antialiased Resize");
  auto mode = c.attr_string("mode", "nearest");
  auto x = c.input(0);
  std::optional<std::vector<double>> scales;
  std::string sizes, runtime_scales;
  int scales_input = c.op_type() == "Upsample" ? 1 : (c.opset() == 10 ? 1 : 2);
  if (c.op_type() == "Upsample" && c.opset() < 9) {
    scales = c.attr_floats("scales");
  } else if (c.has_input(scales_input) && !(c.constant(scales_input) && c.constant(scales_input)->numel() == 0)) {
    if (auto* constant = c.constant(scales_input)) {
      auto flat = constant->to(at::kDouble).contiguous();
      scales = std::vector<double>(flat.data_ptr<double>(), flat.data_ptr<double>() + flat.numel());
      if (axes && !scales->empty()) {  // the listed axes' scales, 1 for the others
        c.require(scales->size() == axes->size(), "Resize whose scales do not match its axes");
        std::vector<double> full(static_cast<size_t>(*rank), 1.0);
        for (size_t i = 0; i < axes->size(); ++i) full[static_cast<size_t>((*axes)[i])] = (*scales)[i];
        scales = full;
      }
    } else {
      c.require(mode == "nearest" || c.attr_string("coordinate_transformation_mode", "") != "align_corners",
                "align_corners resize by run-time scales (shrinking to one pixel is undefined)");
      c.require(!axes, "Resize with axes and scales known only at run time");
      runtime_scales = fmt::format("{}({})[2:]", c.helper("_floats"), c.input(scales_input));
    }
  }
  if (!scales && runtime_scales.empty()) {
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
  int64_t spatial = scales ? static_cast<int64_t>(scales->size()) - 2 : *rank - 2;
  if (scales) {
    c.require((*scales)[0] == 1.0 && (*scales)[1] == 1.0, "resizing the batch or channel dim");
    // Downscaling to a single pixel divides by zero in ONNX's align_corners formula; LibTorch picks 0.
    bool shrinks = std::any_of(scales->begin(), scales->end(), [](double s) { return s < 1.0; });
    c.require(!(shrinks && mode != "nearest" && c.attr_string("coordinate_transformation_mode", "") == "align_corners"),
              "align_corners resize that shrinks by scales");
  }
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
