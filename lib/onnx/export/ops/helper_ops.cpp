// The ONNX importer's helper methods (lib/onnx/import/helpers.cpp), which helper_calls.h keeps
// whole as mopt_onnx:: operators in a model imported from ONNX: each one was written from an ONNX
// op, and goes back to it here. Their list arguments may be computed at run time (an ONNX shape
// tensor that the import read with _ints).
#include <fmt/format.h>

#include "lib/onnx/export/export_context.h"

namespace mopt::onnx_export {
namespace {

using torch::jit::Node;
using torch::jit::Value;

std::string constant_string(ExportContext& c, const Node* node, const Value* value) {
  auto constant = c.constant_string(value);
  if (!constant) unsupported(node, "a mode computed at run time");
  return *constant;
}

// _ints(t) / _floats(t): the tensor itself, flattened, as the 1-D value int lists are in the export
// (floats as float32, which is what they feed: Resize's scales).
template <at::ScalarType kType>
void translate_flat_list(ExportContext& c, const Node* node) {
  c.add_node("Reshape", {c.as_type(node->input(0), kType), c.add_ints({-1}, "flat")}, {c.fresh(node->output())});
}

// _shape_list(x, shape, allowzero): ONNX Reshape's "0 copies the input's dim", which the Reshape it
// feeds applies itself (translate_reshape leaves allowzero as the helper's) when that is its only
// use.
void translate_shape_list(ExportContext& c, const Node* node) {
  for (const auto& use : node->output()->uses()) {
    const auto kind = use.user->kind();
    if ((kind != c10::aten::reshape && kind != c10::aten::view) || use.user->input(0) != node->input(0)) {
      unsupported(node, "a Reshape shape used other than by the Reshape of the same input");
    }
  }
  c.bind(node->output(), int_list_value(c, node, node->input(1)));
}

// _expand(x, shape): ONNX Expand (broadcasting both ways).
void translate_expand(ExportContext& c, const Node* node) {
  c.add_node("Expand", {c.name(node->input(0)), int_list_value(c, node, node->input(1))}, {c.fresh(node->output())});
}

// _slice(x, starts, ends, axes, steps): ONNX Slice (clamped bounds, negative steps).
void translate_slice(ExportContext& c, const Node* node) {
  std::vector<std::string> inputs = {c.name(node->input(0))};
  for (size_t i = 1; i < 5; ++i) inputs.push_back(int_list_value(c, node, node->input(i)));
  c.add_node("Slice", inputs, {c.fresh(node->output())});
}

// _squeeze(x, axes) / _unsqueeze(x, axes) with run-time axes: the ONNX op, axes as an input.
template <const char* kOp>
void translate_axes_op(ExportContext& c, const Node* node) {
  c.add_node(kOp, {c.name(node->input(0)), int_list_value(c, node, node->input(1))}, {c.fresh(node->output())});
}
constexpr char kSqueeze[] = "Squeeze";
constexpr char kUnsqueeze[] = "Unsqueeze";

// _pad(x, pads, mode, value): ONNX Pad (pads in ONNX order, the value in x's type).
void translate_pad(ExportContext& c, const Node* node) {
  const auto mode = constant_string(c, node, node->input(2));
  std::vector<std::string> inputs = {c.name(node->input(0)), int_list_value(c, node, node->input(1))};
  if (mode == "constant") {
    auto type = c.dtype(node->input(0));
    if (!type) unsupported(node, "an input of unknown dtype");
    inputs.push_back(c.as_type(node->input(3), *type));
  }
  set_string(c.add_node("Pad", inputs, {c.fresh(node->output())}), "mode", mode);
}

// _pads_of_axes(x, pads, axes): Pad 18's pads for the listed axes spread over all of x's axes, as a
// ScatterElements of the pads into zeros. Kept whole, not inlined: the helper fills a list by index,
// which the export cannot follow, and the pads may be computed at run time (CenterCropPad's are).
void translate_pads_of_axes(ExportContext& c, const Node* node) {
  const auto sizes = c.example_sizes(node->input(0));
  const auto axes = c.constant_ints(node->input(2));
  if (!sizes || !axes) unsupported(node, "axes computed at run time, or an input of unknown rank");
  const auto rank = static_cast<int64_t>(sizes->size());
  std::vector<int64_t> positions;
  for (int64_t end = 0; end < 2; ++end) {
    for (int64_t axis : *axes) positions.push_back((axis < 0 ? axis + rank : axis) + end * rank);
  }
  auto zeros = c.add_initializer(at::zeros({2 * rank}, at::kLong), "no_pads");
  set_int(c.add_node("ScatterElements", {zeros, c.add_ints(positions, "pad_positions"), int_list_value(c, node, node->input(1))},
                     {c.fresh(node->output())}),
          "axis", 0);
}

// _div(a, b): ONNX Div, whose integer form truncates as the helper does.
void translate_div(ExportContext& c, const Node* node) {
  const auto type = result_dtype(c, node);
  c.add_node("Div", {c.as_type(node->input(0), type), c.as_type(node->input(1), type)}, {c.fresh(node->output())});
}

// _prod(x, dims, keepdim): ReduceProd.
void translate_prod(ExportContext& c, const Node* node) {
  auto dims = c.constant_ints(node->input(1));
  auto keepdim = c.constant_int(node->input(2));
  if (!dims || !keepdim) unsupported(node, "dims computed at run time");
  c.add_reduce("ReduceProd", c.name(node->input(0)), *dims, *keepdim, c.fresh(node->output()));
}

// _scatter_nd(data, indices, updates, reduction): ScatterND (reductions from opset 16).
void translate_scatter_nd(ExportContext& c, const Node* node) {
  const auto reduction = constant_string(c, node, node->input(3));
  if (reduction != "none" && c.opset() < 16) unsupported(node, fmt::format("ScatterND with reduction '{}' needs opset 16", reduction));
  auto& scatter = c.add_node("ScatterND", {c.name(node->input(0)), c.as_type(node->input(1), at::kLong), c.name(node->input(2))},
                             {c.fresh(node->output())});
  if (reduction != "none") set_string(scatter, "reduction", reduction);
}

// _gather_nd(data, indices, batch_dims): GatherND.
void translate_gather_nd(ExportContext& c, const Node* node) {
  auto batch_dims = c.constant_int(node->input(2));
  if (!batch_dims) unsupported(node, "batch_dims computed at run time");
  set_int(c.add_node("GatherND", {c.name(node->input(0)), c.as_type(node->input(1), at::kLong)}, {c.fresh(node->output())}),
          "batch_dims", *batch_dims);
}

// _reverse_sequence(x, lengths, time_axis, batch_axis): ReverseSequence.
void translate_reverse_sequence(ExportContext& c, const Node* node) {
  auto time_axis = c.constant_int(node->input(2)), batch_axis = c.constant_int(node->input(3));
  if (!time_axis || !batch_axis) unsupported(node, "axes computed at run time");
  auto& reverse = c.add_node("ReverseSequence", {c.name(node->input(0)), c.as_type(node->input(1), at::kLong)},
                             {c.fresh(node->output())});
  set_int(reverse, "time_axis", *time_axis);
  set_int(reverse, "batch_axis", *batch_axis);
}

// _lrn(x, size, alpha, beta, k): LRN.
void translate_lrn(ExportContext& c, const Node* node) {
  auto size = c.constant_int(node->input(1));
  auto alpha = c.constant_double(node->input(2)), beta = c.constant_double(node->input(3)), bias = c.constant_double(node->input(4));
  if (!size || !alpha || !beta || !bias) unsupported(node, "parameters computed at run time");
  auto& lrn = c.add_node("LRN", {c.name(node->input(0))}, {c.fresh(node->output())});
  set_int(lrn, "size", *size);
  set_float(lrn, "alpha", static_cast<float>(*alpha));
  set_float(lrn, "beta", static_cast<float>(*beta));
  set_float(lrn, "bias", static_cast<float>(*bias));
}

// _gates(t, order): t's gate blocks (equal parts along dim 0) in another order: Split + Concat.
void translate_gates(ExportContext& c, const Node* node) {
  auto order = c.constant_ints(node->input(1));
  if (!order || order->empty()) unsupported(node, "a gate order computed at run time");
  c.bind(node->output(), reorder_blocks(c, c.name(node->input(0)), *order));
}

// _unique(x, axis, ascending) -> Unique (values, first indices, inverse indices, counts: the
// helper's order); the tuple's parts are read by constant index, whose results are bound here.
void translate_unique(ExportContext& c, const Node* node) {
  static const char* kParts[] = {"unique_values", "unique_first", "unique_inverse", "unique_counts"};
  std::vector<std::string> parts;
  for (const char* part : kParts) parts.push_back(c.fresh(part));
  auto& unique = c.add_node("Unique", {c.name(node->input(0))}, parts);
  if (!c.is_none(node->input(1))) {
    auto axis = c.constant_int(node->input(1));
    if (!axis) unsupported(node, "an axis computed at run time");
    set_int(unique, "axis", *axis);
  }
  auto ascending = c.constant_int(node->input(2));
  if (!ascending) unsupported(node, "sorting chosen at run time");
  set_int(unique, "sorted", *ascending);
  for (const auto& use : node->output()->uses()) {
    auto index = use.user->kind() == c10::prim::TupleIndex ? c.constant_int(use.user->input(1)) : std::nullopt;
    if (!index || *index < 0 || *index > 3) unsupported(node, "results used other than by constant index");
    c.bind(use.user->output(), parts[static_cast<size_t>(*index)]);
  }
}

}  // namespace

std::vector<TranslatorEntry> helper_translators() {
  return {
      {"mopt_onnx::_ints", translate_flat_list<at::kLong>}, {"mopt_onnx::_floats", translate_flat_list<at::kFloat>},
      {"mopt_onnx::_shape_list", translate_shape_list}, {"mopt_onnx::_expand", translate_expand},
      {"mopt_onnx::_slice", translate_slice}, {"mopt_onnx::_squeeze", translate_axes_op<kSqueeze>},
      {"mopt_onnx::_pads_of_axes", translate_pads_of_axes},
      {"mopt_onnx::_unsqueeze", translate_axes_op<kUnsqueeze>}, {"mopt_onnx::_pad", translate_pad},
      {"mopt_onnx::_div", translate_div}, {"mopt_onnx::_prod", translate_prod},
      {"mopt_onnx::_scatter_nd", translate_scatter_nd}, {"mopt_onnx::_gather_nd", translate_gather_nd},
      {"mopt_onnx::_reverse_sequence", translate_reverse_sequence}, {"mopt_onnx::_lrn", translate_lrn},
      {"mopt_onnx::_unique", translate_unique},   {"mopt_onnx::_gates", translate_gates},
  };
}

}  // namespace mopt::onnx_export
