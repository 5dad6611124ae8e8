// Tensors made in the graph: from numbers and int lists (torch.tensor, scalar_tensor, NumToTensor),
// filled to a shape (full, zeros, ones, new_ones), and a list's length. Shapes may be run-time lists
// (an imported model's shape arithmetic); the dtype is the one the example run recorded.
#include <fmt/format.h>

#include "lib/onnx/export/export_context.h"
#include "lib/onnx/onnx_tensors.h"

namespace mopt::onnx_export {
namespace {

using torch::jit::Node;

// aten::tensor(data, dtype, ...) of an int list (1-D) or a number (0-d); aten::scalar_tensor(number, dtype, ...).
void translate_tensor(ExportContext& c, const Node* node) {
  const auto type = result_dtype(c, node);
  const auto* data = node->input(0);
  if (data->type()->kind() == c10::TypeKind::ListType) {
    if (data->type()->containedType(0)->kind() != c10::TypeKind::IntType) unsupported(node, "a list of other than ints");
    auto list = int_list_value(c, node, data);
    c.bind(node->output(), type == at::kLong ? list : c.cast(list, type));
    return;
  }
  if (data->type()->cast<c10::TensorType>()) unsupported(node, "a tensor argument");
  c.bind(node->output(), c.as_type(data, type));
}

// ConstantOfShape(shape) filled with `value` in `type`, named for `out`.
void constant_of_shape(ExportContext& c, const std::string& shape, double value, at::ScalarType type, const torch::jit::Value* out) {
  auto& fill = c.add_node("ConstantOfShape", {shape}, {c.fresh(out)});
  auto* attribute = fill.add_attribute();
  attribute->set_name("value");
  attribute->set_type(onnx::AttributeProto::TENSOR);
  *attribute->mutable_t() = torch_to_tensor(at::full({1}, value, at::TensorOptions().dtype(at::kDouble)).to(type), "value");
}

// aten::full(size, value, dtype, ...), aten::zeros/ones(size, dtype, ...): ConstantOfShape of a
// constant value; a run-time value is expanded to the shape.
template <int kFill>
void translate_fill(ExportContext& c, const Node* node) {
  const auto type = result_dtype(c, node);
  auto shape = int_list_value(c, node, node->input(0));
  std::optional<double> value = kFill;
  if (node->kind() == c10::aten::full) {
    value = c.constant_double(node->input(1));
    if (auto constant = c.constant(node->input(1)); constant && constant->isBool()) value = constant->toBool() ? 1.0 : 0.0;
  }
  if (!value) {
    c.add_node("Expand", {c.as_type(node->input(1), type), shape}, {c.fresh(node->output())});
    return;
  }
  constant_of_shape(c, shape, *value, type, node->output());
}

// aten::new_zeros/new_ones(x, size, dtype, ...): ConstantOfShape of the size, in the result's dtype.
template <int kFill>
void translate_new_fill(ExportContext& c, const Node* node) {
  constant_of_shape(c, int_list_value(c, node, node->input(1)), kFill, result_dtype(c, node), node->output());
}

// prim::NumToTensor(number): numbers are 0-d tensors here already.
void translate_num_to_tensor(ExportContext& c, const Node* node) { c.bind(node->output(), c.name(node->input(0))); }

// aten::zeros_like/ones_like(x, dtype, ...) -> ConstantOfShape(Shape(x)).
template <int kFill>
void translate_fill_like(ExportContext& c, const Node* node) {
  auto shape = c.fresh("shape");
  c.add_node("Shape", {c.name(node->input(0))}, {shape});
  constant_of_shape(c, shape, kFill, result_dtype(c, node), node->output());
}

// aten::len(list) of a list exported as a 1-D value -> Size (a 0-d int64, as ints are here);
// aten::len(tensor) is its first dim.
void translate_len(ExportContext& c, const Node* node) {
  const auto* list = node->input(0);
  if (list->type()->cast<c10::TensorType>()) {
    auto shape = c.fresh("shape");
    c.add_node("Shape", {c.name(list)}, {shape});
    set_int(c.add_node("Gather", {shape, c.add_initializer(at::scalar_tensor(0, at::kLong), "dim")}, {c.fresh(node->output())}),
            "axis", 0);
    return;
  }
  if (!c.is_bound(list) && list->node()->kind() != c10::prim::ListConstruct) unsupported(node, "a list that is not a shape");
  c.add_node("Size", {int_list_value(c, node, list)}, {c.fresh(node->output())});
}

}  // namespace

std::vector<TranslatorEntry> creation_translators() {
  return {
      {"aten::tensor", translate_tensor},     {"aten::scalar_tensor", translate_tensor},
      {"aten::full", translate_fill<0>},      {"aten::zeros", translate_fill<0>},
      {"aten::ones", translate_fill<1>},      {"aten::len", translate_len},
      {"aten::zeros_like", translate_fill_like<0>}, {"aten::ones_like", translate_fill_like<1>},
      {"aten::new_zeros", translate_new_fill<0>}, {"aten::new_ones", translate_new_fill<1>},
      {"prim::NumToTensor", translate_num_to_tensor},
  };
}

}  // namespace mopt::onnx_export
