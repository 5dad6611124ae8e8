// Scattering, one-hot, nonzero, top-k, splitting into parts, tiling and einsum: ops whose ONNX forms
// take their arguments as tensors (run-time sizes and counts stay inputs).
#include <fmt/format.h>

#include "lib/onnx/export/export_context.h"

namespace mopt::onnx_export {
namespace {

using torch::jit::Node;
using torch::jit::Value;

// A run-time int (0-d, or a one-element tensor that int() read) as the 1-D int64 of one element that
// OneHot's depth and TopK's k are.
std::string one_element_ints(ExportContext& c, const Value* value, const std::string& hint) {
  auto out = c.fresh(hint);
  c.add_node("Reshape", {c.as_type(value, at::kLong), c.add_ints({1}, "one")}, {out});
  return out;
}

// aten::one_hot(indices, depth): OneHot with values [0, 1] in int64 (torch's dtype), on the last axis.
void translate_one_hot(ExportContext& c, const Node* node) {
  auto depth = one_element_ints(c, node->input(1), "depth");
  set_int(c.add_node("OneHot", {c.name(node->input(0)), depth, c.add_ints({0, 1}, "one_hot_values")}, {c.fresh(node->output())}),
          "axis", -1);
}

// aten::scatter(self, dim, index, src[, reduce]) / aten::scatter_add -> ScatterElements (its
// reductions from opset 16).
void translate_scatter(ExportContext& c, const Node* node) {
  auto dim = c.constant_int(node->input(1));
  if (!dim) unsupported(node, "a run-time dim");
  if (!node->input(3)->type()->cast<c10::TensorType>()) unsupported(node, "a scalar source");
  std::string reduction = node->kind() == c10::aten::scatter_add ? "add" : "none";
  if (node->inputs().size() > 4) {
    if (c.constant_string(node->input(4)) != "multiply") unsupported(node, "a reduction other than multiply");
    reduction = "mul";
  }
  if (reduction != "none" && c.opset() < 16) unsupported(node, fmt::format("ScatterElements reduction '{}' needs opset 16", reduction));
  auto& scatter = c.add_node("ScatterElements", {c.name(node->input(0)), c.as_type(node->input(2), at::kLong), c.name(node->input(3))},
                             {c.fresh(node->output())});
  set_int(scatter, "axis", *dim);
  if (reduction != "none") set_string(scatter, "reduction", reduction);
}

// aten::nonzero(x): torch lists one row per element [n, rank]; ONNX NonZero one row per dim.
void translate_nonzero(ExportContext& c, const Node* node) {
  auto rows = c.fresh("nonzero");
  c.add_node("NonZero", {c.name(node->input(0))}, {rows});
  set_ints(c.add_node("Transpose", {rows}, {c.fresh(node->output())}), "perm", {1, 0});
}

// aten::topk(x, k, dim, largest, sorted) -> TopK (values, indices).
void translate_topk(ExportContext& c, const Node* node) {
  auto dim = c.constant_int(node->input(2)), largest = c.constant_int(node->input(3)), sorted = c.constant_int(node->input(4));
  if (!dim || !largest || !sorted) unsupported(node, "dim, largest or sorted computed at run time");
  auto k = one_element_ints(c, node->input(1), "k");
  auto& topk = c.add_node("TopK", {c.name(node->input(0)), k}, {c.fresh(node->output(0)), c.fresh(node->output(1))});
  set_int(topk, "axis", *dim);
  set_int(topk, "largest", *largest);
  set_int(topk, "sorted", *sorted);
}

// aten::einsum(equation, tensors, path) -> Einsum.
void translate_einsum(ExportContext& c, const Node* node) {
  auto equation = c.constant_string(node->input(0));
  const auto* list = node->input(1)->node();
  if (!equation || list->kind() != c10::prim::ListConstruct) {
    unsupported(node, "an equation or operand list computed at run time");
  }
  std::vector<std::string> operands;
  for (const auto* operand : list->inputs()) operands.push_back(c.name(operand));
  set_string(c.add_node("Einsum", operands, {c.fresh(node->output())}), "equation", *equation);
}

// aten::repeat(x, repeats) -> Tile (repeats as many as x has dims, as an imported Tile gives them).
void translate_repeat(ExportContext& c, const Node* node) {
  auto type = node->input(0)->type()->cast<c10::TensorType>();
  auto repeats = c.constant_ints(node->input(1));
  if (repeats && (!type || !type->dim() || *type->dim() != repeats->size())) unsupported(node, "repeats other than one per dim");
  c.add_node("Tile", {c.name(node->input(0)), int_list_value(c, node, node->input(1))}, {c.fresh(node->output())});
}

// The parts of a tensor list that aten::split/tensor_split made: each prim::ListUnpack output or
// constant-index __getitem__ (those translators then find them named). Returns how many parts the
// uses show.
std::vector<std::vector<const Value*>> parts_used(const Node* node) {
  std::vector<std::vector<const Value*>> parts;
  for (const auto& use : node->output()->uses()) {
    const auto* user = use.user;
    if (user->kind() == c10::prim::ListUnpack) {
      if (parts.size() < user->outputs().size()) parts.resize(user->outputs().size());
      for (size_t i = 0; i < user->outputs().size(); ++i) parts[i].push_back(user->output(i));
      continue;
    }
    auto index = user->kind() == c10::aten::__getitem__ ? torch::jit::toIValue(user->input(1)) : c10::nullopt;
    if (!index || !index->isInt() || index->toInt() < 0) unsupported(node, "parts used other than by constant index");
    const auto i = static_cast<size_t>(index->toInt());
    if (parts.size() <= i) parts.resize(i + 1);
    parts[i].push_back(user->output());
  }
  return parts;
}

void split_into(ExportContext& c, const Node* node, const std::vector<std::string>& inputs, int64_t axis, size_t count) {
  auto parts = parts_used(node);
  if (parts.size() > count) unsupported(node, "a part past the last one used");
  std::vector<std::string> names;
  for (size_t i = 0; i < count; ++i) {
    names.push_back(c.fresh(i < parts.size() && !parts[i].empty() ? parts[i].front()->debugName() : "part"));
    if (i < parts.size()) {
      for (const auto* value : parts[i]) c.bind(value, names.back());
    }
  }
  c.add_split(inputs, names, axis);
}

// aten::split(x, sizes, dim) -> Split with sizes (one output per size: constant sizes, or as many as
// the parts used when the sizes are computed at run time); aten::split(x, size, dim) -> equal parts.
void translate_split(ExportContext& c, const Node* node) {
  auto dim = c.constant_int(node->input(2));
  if (!dim) unsupported(node, "a run-time dim");
  if (node->input(1)->type()->kind() != c10::TypeKind::ListType) unsupported(node, "a split into parts of one size");
  auto sizes = c.constant_ints(node->input(1));
  size_t count = sizes ? sizes->size() : parts_used(node).size();
  split_into(c, node, {c.name(node->input(0)), int_list_value(c, node, node->input(1))}, *dim, count);
}

// aten::tensor_split(x, n, dim): n parts, the first (size % n) one longer, sizes computed at run time
// (size // n + (i < size % n)).
void translate_tensor_split(ExportContext& c, const Node* node) {
  auto n = c.constant_int(node->input(1)), dim = c.constant_int(node->input(2));
  if (!n || !dim || node->input(1)->type()->kind() != c10::TypeKind::IntType) unsupported(node, "a run-time count or dim, or indices");
  auto shape = c.fresh("shape"), size = c.fresh("size"), base = c.fresh("base"), extra = c.fresh("extra"),
       index = c.fresh("index"), longer = c.fresh("longer"), sizes = c.fresh("sizes");
  auto count = c.add_initializer(at::scalar_tensor(*n, at::kLong), "parts");
  c.add_node("Shape", {c.name(node->input(0))}, {shape});
  set_int(c.add_node("Gather", {shape, c.add_initializer(at::scalar_tensor(*dim, at::kLong), "dim")}, {size}), "axis", 0);
  c.add_node("Div", {size, count}, {base});
  c.add_node("Mod", {size, count}, {extra});
  c.add_node("Range", {c.add_initializer(at::scalar_tensor(0, at::kLong), "zero"), count,
                       c.add_initializer(at::scalar_tensor(1, at::kLong), "one")},
             {index});
  c.add_node("Less", {index, extra}, {longer});
  c.add_node("Add", {c.cast(longer, at::kLong), base}, {sizes});
  split_into(c, node, {c.name(node->input(0)), sizes}, *dim, static_cast<size_t>(*n));
}

}  // namespace

std::vector<TranslatorEntry> indexing_translators() {
  return {
      {"aten::one_hot", translate_one_hot},   {"aten::scatter", translate_scatter},
      {"aten::scatter_add", translate_scatter}, {"aten::nonzero", translate_nonzero},
      {"aten::topk", translate_topk},         {"aten::einsum", translate_einsum},
      {"aten::repeat", translate_repeat},     {"aten::split", translate_split},
      {"aten::split_with_sizes", translate_split}, {"aten::tensor_split", translate_tensor_split},
  };
}

}  // namespace mopt::onnx_export
