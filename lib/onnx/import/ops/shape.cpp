// Shape arithmetic and layout: Shape, Size, Reshape, Flatten, Squeeze, Unsqueeze, Transpose,
// Expand, Tile, ConstantOfShape, Range, Cast, CastLike. Shape values stay int64 tensors computed at
// run time (never folded to the example input's shape), so symbolic dims stay dynamic.
#include <fmt/format.h>

#include <algorithm>

#include "lib/onnx/import/converter_table.h"
#include "lib/onnx/onnx_tensors.h"

namespace mopt::onnx_import {
namespace {

void convert_shape(NodeContext& c) {
  auto x = c.input(0);
  auto start = c.attr_int("start", 0);
  auto end = c.attribute("end") ? fmt::format("{}", c.attr_int("end", 0)) : "";
  c.assign_ints(0, start == 0 && end.empty() ? fmt::format("{}.size()", x) : fmt::format("{}.size()[{}:{}]", x, start, end));
}

void convert_size(NodeContext& c) {
  c.assign(0, fmt::format("torch.scalar_tensor({}.numel(), dtype={})", c.input(0), dtype_code(at::kLong)));
}

void convert_reshape(NodeContext& c) {
  auto x = c.input(0);
  bool allowzero = c.attr_int("allowzero", 0) != 0;
  if (c.opset() < 5) {
    c.assign(0, fmt::format("{}.reshape({})", x, int_list_literal(c.attr_ints("shape").value_or(std::vector<int64_t>{}))));
    return;
  }
  if (auto shape = c.constant_ints(1)) {
    bool copies = !allowzero && std::count(shape->begin(), shape->end(), 0) > 0;
    if (!copies) {
      c.assign(0, fmt::format("{}.reshape({})", x, int_list_literal(*shape)));
      return;
    }
  }
  c.assign(0, fmt::format("{}.reshape({}({}, {}, {}))", x, c.helper("_shape_list"), x, c.int_list_input(1),
                          allowzero ? "True" : "False"));
}

void convert_flatten(NodeContext& c) {
  auto x = c.input(0);
  auto axis = c.attr_int("axis", 1);
  if (axis < 0) {
    auto rank = c.input_rank(0);
    c.require(rank.has_value(), "Flatten with a negative axis on an input of unknown rank");
    axis += *rank;
  }
  if (axis == 0) c.assign(0, fmt::format("{}.reshape([1, -1])", x));
  else if (axis == 1 && c.input_rank(0).value_or(0) >= 2) c.assign(0, fmt::format("torch.flatten({}, 1)", x));  // as torch.nn.Flatten: channel pruning follows it
  else if (axis == 1) c.assign(0, fmt::format("{}.reshape([{}.size(0), -1])", x, x));
  else if (axis == c.input_rank(0)) c.assign(0, fmt::format("torch.flatten({}).unsqueeze(1)", x));  // [all, 1]
  else c.assign(0, fmt::format("torch.flatten(torch.flatten({}, {}), 0, {})", x, axis, axis - 1));
}

std::optional<std::vector<int64_t>> axes_of(NodeContext& c) {
  if (c.opset() >= 13) return c.has_input(1) ? c.constant_ints(1) : std::nullopt;
  return c.attr_ints("axes");
}

// Axes given as a run-time input (opset 13+).
bool has_runtime_axes(NodeContext& c) { return c.opset() >= 13 && c.has_input(1) && !c.constant(1); }

// Axes made non-negative when the rank is known; otherwise they must share a sign.
std::vector<int64_t> resolved_axes(NodeContext& c, std::vector<int64_t> axes, std::optional<int64_t> rank) {
  if (rank) {
    for (auto& axis : axes) axis = normalize_axis(c, axis, *rank);
  } else {
    bool negative = std::all_of(axes.begin(), axes.end(), [](int64_t a) { return a < 0; });
    bool positive = std::all_of(axes.begin(), axes.end(), [](int64_t a) { return a >= 0; });
    c.require(negative || positive, "axes of mixed sign on an input of unknown rank");
  }
  return axes;
}

void convert_squeeze(NodeContext& c) {
  if (has_runtime_axes(c)) {
    c.assign(0, fmt::format("{}({}, {})", c.helper("_squeeze"), c.input(0), c.int_list_input(1)));
    return;
  }
  auto axes = axes_of(c);
  if (auto list = c.ints_form(0); list && !c.constant(0) && (!axes || *axes == std::vector<int64_t>{0})) {
    c.assign_int(0, fmt::format("{}[0]", *list));
    return;
  }
  auto x = c.input(0);
  if (!axes || axes->empty()) {
    c.assign(0, fmt::format("torch.squeeze({})", x));
    return;
  }
  auto resolved = resolved_axes(c, *axes, c.input_rank(0));
  // Squeeze the highest dim first so the others keep their index (negative ones: lowest first).
  std::sort(resolved.begin(), resolved.end());
  if (resolved.front() >= 0) std::reverse(resolved.begin(), resolved.end());
  auto expression = x;
  for (auto axis : resolved) expression = fmt::format("torch.squeeze({}, {})", expression, axis);
  c.assign(0, expression);
}

void convert_unsqueeze(NodeContext& c) {
  if (has_runtime_axes(c) && !c.int_form(0)) {
    c.assign(0, fmt::format("{}({}, {})", c.helper("_unsqueeze"), c.input(0), c.int_list_input(1)));
    return;
  }
  auto axes = axes_of(c);
  c.require(axes && !axes->empty(), "Unsqueeze without axes");
  if (auto scalar = c.int_form(0); scalar && *axes == std::vector<int64_t>{0}) {
    c.assign_ints(0, fmt::format("[{}]", *scalar));  // a shape scalar becomes a one-element shape list
    return;
  }
  auto x = c.input(0);
  auto rank = c.input_rank(0);
  auto resolved = resolved_axes(c, *axes, rank ? std::optional<int64_t>(*rank + static_cast<int64_t>(axes->size()))
                                               : std::nullopt);
  // Insert the lowest output position first (negative ones: -1 first).
  std::sort(resolved.begin(), resolved.end());
  if (resolved.front() < 0) std::reverse(resolved.begin(), resolved.end());
  auto expression = x;
  for (auto axis : resolved) expression = fmt::format("torch.unsqueeze({}, {})", expression, axis);
  c.assign(0, expression);
}

void convert_transpose(NodeContext& c) {
  auto x = c.input(0);
  auto perm = c.attr_ints("perm");
  if (!perm) {
    auto rank = c.input_rank(0);
    if (!rank) {
      c.assign(0, fmt::format("{0}.permute(list(range({0}.dim() - 1, -1, -1)))", x));
      return;
    }
    perm = std::vector<int64_t>();
    for (int64_t i = *rank - 1; i >= 0; --i) perm->push_back(i);
  }
  c.assign(0, fmt::format("{}.permute({})", x, int_list_literal(*perm)));
}

void convert_expand(NodeContext& c) {
  c.assign(0, fmt::format("{}({}, {})", c.helper("_expand"), c.input(0), c.int_list_input(1)));
}

void convert_tile(NodeContext& c) { c.assign(0, fmt::format("{}.repeat({})", c.input(0), c.int_list_input(1))); }

void convert_constant_of_shape(NodeContext& c) {
  std::string value = "0.0", dtype = dtype_code(at::kFloat);
  if (auto* attr = c.attribute("value")) {
    auto tensor = tensor_to_torch(attr->t());
    if (!tensor || tensor->numel() != 1) c.fail("its value attribute is not a one-element tensor");
    dtype = dtype_literal(c, attr->t().data_type());
    if (tensor->is_floating_point()) value = float_literal(tensor->item<double>());
    else if (tensor->scalar_type() == at::kBool) value = tensor->item<bool>() ? "True" : "False";
    else value = std::to_string(tensor->item<int64_t>());
  }
  c.assign(0, fmt::format("torch.full({}, {}, dtype={})", c.int_list_input(0), value, dtype));
}

void convert_range(NodeContext& c) {
  auto type = c.input_elem_type(0);
  bool floating = type == onnx::TensorProto::FLOAT || type == onnx::TensorProto::DOUBLE;
  const char* scalar = floating ? "float" : "int";
  auto dtype = type ? dtype_literal(c, type) : fmt::format("{}.dtype", c.input(0));
  c.assign(0, fmt::format("torch.arange({0}({1}), {0}({2}), {0}({3}), dtype={4})", scalar, c.input(0), c.input(1),
                          c.input(2), dtype));
}

void convert_cast(NodeContext& c) {
  if (c.attr_int("to", 0) == onnx::TensorProto::INT64 && !c.constant(0)) {
    // Shape values are int64 already: the cast is a no-op on their int form.
    if (auto list = c.ints_form(0)) return c.assign_ints(0, *list);
    if (auto scalar = c.int_form(0)) return c.assign_int(0, *scalar);
  }
  c.assign(0, fmt::format("{}.to({})", c.input(0), dtype_literal(c, static_cast<int32_t>(c.attr_int("to", 0)))));
}

void convert_cast_like(NodeContext& c) { c.assign(0, fmt::format("{}.to({}.dtype)", c.input(0), c.input(1))); }

}  // namespace

std::vector<ConverterEntry> shape_converters() {
  return {
      {"", "Shape", 1, kMaxOpset, convert_shape},
      {"", "Size", 1, kMaxOpset, convert_size},
      {"", "Reshape", 1, kMaxOpset, convert_reshape},
      {"", "Flatten", 1, kMaxOpset, convert_flatten},
      {"", "Squeeze", 1, kMaxOpset, convert_squeeze},
      {"", "Unsqueeze", 1, kMaxOpset, convert_unsqueeze},
      {"", "Transpose", 1, kMaxOpset, convert_transpose},
      {"", "Expand", 8, kMaxOpset, convert_expand},
      {"", "Tile", 6, kMaxOpset, convert_tile},
      {"", "ConstantOfShape", 9, kMaxOpset, convert_constant_of_shape},
      {"", "Range", 11, kMaxOpset, convert_range},
      {"", "Cast", 6, kMaxOpset, convert_cast},
      {"", "CastLike", 15, kMaxOpset, convert_cast_like},
  };
}

}  // namespace mopt::onnx_import
