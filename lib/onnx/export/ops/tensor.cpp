// Layout and selection: flatten, reshape/view, permute, transpose, (un)squeeze, chunk, cat, dtype
// conversion, indexing and gathering, flip, padding, triangles, run-time sizes, dropout (identity at
// inference).
#include <fmt/format.h>

#include <limits>

#include "lib/onnx/export/export_context.h"
#include "lib/onnx/onnx_tensors.h"

namespace mopt::onnx_export {
namespace {

// aten::flatten(x, start, end): ONNX Flatten is exactly flatten(x, 1, -1) folded to 2-D (the
// classifier case); otherwise a Reshape to x's dims before `start`, -1, and its dims after `end`
// (Slice takes negative dims as they are, so x's rank need not be known).
void translate_flatten(ExportContext& c, const torch::jit::Node* node) {
  auto start = c.constant_int(node->input(1)), end = c.constant_int(node->input(2));
  if (!start || !end) unsupported(node, "dims computed at run time");
  if (*start == 1 && *end == -1) {
    set_int(c.add_node("Flatten", {c.name(node->input(0))}, {c.fresh(node->output())}), "axis", 1);
    return;
  }
  if (*start == *end) {
    c.bind(node->output(), c.name(node->input(0)));
    return;
  }
  if (*start == 0 && *end == -1) {
    c.add_node("Reshape", {c.name(node->input(0)), c.add_ints({-1}, "flat_shape")}, {c.fresh(node->output())});
    return;
  }
  auto shape = c.fresh("shape");
  c.add_node("Shape", {c.name(node->input(0))}, {shape});
  std::vector<std::string> parts;
  if (*start != 0) {
    parts.push_back(c.fresh("leading_dims"));
    c.add_node("Slice", {shape, c.add_ints({0}, "starts"), c.add_ints({*start}, "ends")}, {parts.back()});
  }
  parts.push_back(c.add_ints({-1}, "flat_dim"));
  if (*end != -1) {
    parts.push_back(c.fresh("trailing_dims"));
    c.add_node("Slice", {shape, c.add_ints({*end + 1}, "starts"), c.add_ints({std::numeric_limits<int64_t>::max()}, "ends")},
               {parts.back()});
  }
  auto target = c.fresh("flat_shape");
  set_int(c.add_node("Concat", parts, {target}), "axis", 0);
  c.add_node("Reshape", {c.name(node->input(0)), target}, {c.fresh(node->output())});
}

// aten::reshape/view(x, shape): torch has no "0 copies the dim" rule, so allowzero=1 keeps a
// literal 0 (or a run-time 0) meaning size 0. An imported ONNX Reshape's shape (the importer's
// _shape_list, helper_calls.h) keeps ONNX's rule as its allowzero says.
void translate_reshape(ExportContext& c, const torch::jit::Node* node) {
  auto shape = int_list_value(c, node, node->input(1));
  auto& reshape = c.add_node("Reshape", {c.name(node->input(0)), shape}, {c.fresh(node->output())});
  const auto* producer = node->input(1)->node();
  if (producer->kind() == c10::Symbol::fromQualString("mopt_onnx::_shape_list")) {
    auto allowzero = c.constant_int(producer->input(2));
    if (!allowzero) unsupported(node, "allowzero computed at run time");
    if (*allowzero) set_int(reshape, "allowzero", 1);
    return;
  }
  auto constant = c.constant_ints(node->input(1));
  if (!constant || std::count(constant->begin(), constant->end(), 0) > 0) set_int(reshape, "allowzero", 1);
}

// The single prim::ListUnpack that reads `list`, or nullptr.
const torch::jit::Node* unpacked_by(const torch::jit::Value* list) {
  const auto& uses = list->uses();
  return uses.size() == 1 && uses[0].user->kind() == c10::prim::ListUnpack ? uses[0].user : nullptr;
}

// Element `index` of a 1-D int64 value (a shape) -> a 0-d int64 value.
void gather_dim(ExportContext& c, const std::string& shape, int64_t index, const torch::jit::Value* out) {
  set_int(c.add_node("Gather", {shape, c.add_initializer(at::scalar_tensor(index, at::kLong), "dim")}, {c.fresh(out)}),
          "axis", 0);
}

// aten::size(x) -> Shape, a 1-D int64 value that stands for the int list (`n, c, h, w = x.size()`
// unpacks it, `x.size()[0]` indexes it: a Gather each). aten::size(x, dim) -> Shape, Gather.
void translate_size(ExportContext& c, const torch::jit::Node* node) {
  if (node->inputs().size() == 1) {
    c.add_node("Shape", {c.name(node->input(0))}, {c.fresh(node->output())});
    return;
  }
  auto dim = c.constant_int(node->input(1));
  if (!dim) unsupported(node, "a run-time dim");
  auto shape = c.fresh("shape");
  c.add_node("Shape", {c.name(node->input(0))}, {shape});
  gather_dim(c, shape, *dim, node->output());
}

// aten::__getitem__(list, i) of a list exported as a 1-D int64 value (x.size(), an imported
// run-time shape).
void translate_getitem(ExportContext& c, const torch::jit::Node* node) {
  if (c.is_bound(node->output())) return;  // a part that aten::split named (ops/indexing.cpp)
  if (!c.is_bound(node->input(0))) unsupported(node, "indexing a list that is not a shape");
  if (auto index = c.constant_int(node->input(1))) {
    gather_dim(c, c.name(node->input(0)), *index, node->output());
    return;
  }
  set_int(c.add_node("Gather", {c.name(node->input(0)), c.as_type(node->input(1), at::kLong)}, {c.fresh(node->output())}),
          "axis", 0);
}

// prim::TupleIndex(TupleConstruct(...), i) with a constant i: the element itself.
void translate_tuple_index(ExportContext& c, const torch::jit::Node* node) {
  if (c.is_bound(node->output())) return;  // a part of a multi-output op that the op named (helper_ops.cpp)
  auto index = c.constant_int(node->input(1));
  const auto* tuple = node->input(0)->node();
  if (tuple->kind() != c10::prim::TupleConstruct || !index) unsupported(node, "a tuple not built in the graph");
  c.bind(node->output(), c.name(tuple->input(static_cast<size_t>(*index))));
}

// A 1-D int64 value of one element: a constant, or a run-time 0-d int unsqueezed.
std::string one_element(ExportContext& c, const torch::jit::Value* value, const std::string& hint) {
  if (auto constant = c.constant_int(value)) return c.add_ints({*constant}, hint);
  auto out = c.fresh(hint);
  c.add_node("Unsqueeze", {c.name(value), c.add_ints({0}, "axes")}, {out});
  return out;
}

// aten::slice(x, dim, start, end, step) -> Slice; a None start/end is the whole range.
// aten::slice(list, start, end, step) of a list exported as a 1-D value (an imported run-time
// shape's spatial dims) -> Slice along axis 0.
void translate_slice(ExportContext& c, const torch::jit::Node* node) {
  auto bound = [&](const torch::jit::Value* value, int64_t none, const std::string& hint) {
    return c.is_none(value) ? c.add_ints({none}, hint) : one_element(c, value, hint);
  };
  if (node->input(0)->type()->kind() == c10::TypeKind::ListType) {
    if (!c.is_bound(node->input(0))) unsupported(node, "slicing a list that is not a shape");
    c.add_node("Slice",
               {c.name(node->input(0)), bound(node->input(1), 0, "starts"),
                bound(node->input(2), std::numeric_limits<int64_t>::max(), "ends"), c.add_ints({0}, "axes"),
                one_element(c, node->input(3), "steps")},
               {c.fresh(node->output())});
    return;
  }
  auto dim = c.constant_int(node->input(1));
  if (!dim) unsupported(node, "a run-time dim");
  auto start = bound(node->input(2), 0, "starts");
  auto end = bound(node->input(3), std::numeric_limits<int64_t>::max(), "ends");
  c.add_node("Slice", {c.name(node->input(0)), start, end, c.add_ints({*dim}, "axes"), one_element(c, node->input(4), "steps")},
             {c.fresh(node->output())});
}

void translate_permute(ExportContext& c, const torch::jit::Node* node) {
  auto dims = c.constant_ints(node->input(1));
  if (!dims) unsupported(node, "dims computed at run time");
  auto& transpose = c.add_node("Transpose", {c.name(node->input(0))}, {c.fresh(node->output())});
  set_ints(transpose, "perm", *dims);
}

// The rank of a value where the graph states it: its type, or the shape list of the reshape/view or
// the dims of the permute that produced it.
std::optional<int64_t> stated_rank(ExportContext& c, const torch::jit::Value* value) {
  // LibTorch's shape propagation (export_graph.h) typed it.
  if (auto type = value->type()->cast<c10::TensorType>(); type && type->dim()) return static_cast<int64_t>(*type->dim());
  const auto* producer = value->node();
  const auto kind = producer->kind();
  if (kind != c10::aten::reshape && kind != c10::aten::view && kind != c10::aten::permute) return std::nullopt;
  const auto* list = producer->input(1);
  if (list->node()->kind() == c10::prim::ListConstruct) return static_cast<int64_t>(list->node()->inputs().size());
  auto dims = c.constant_ints(list);
  if (!dims) return std::nullopt;
  return static_cast<int64_t>(dims->size());
}

// aten::transpose(x, dim0, dim1): a Transpose whose perm swaps the two (needs x's rank).
void translate_transpose(ExportContext& c, const torch::jit::Node* node) {
  auto rank = stated_rank(c, node->input(0));
  auto d0 = c.constant_int(node->input(1)), d1 = c.constant_int(node->input(2));
  if (!rank || !d0 || !d1) unsupported(node, "a transpose whose input rank or dims are not known when exporting");
  std::vector<int64_t> perm(static_cast<size_t>(*rank));
  for (int64_t i = 0; i < *rank; ++i) perm[static_cast<size_t>(i)] = i;
  auto a = (*d0 + *rank) % *rank, b = (*d1 + *rank) % *rank;
  std::swap(perm[static_cast<size_t>(a)], perm[static_cast<size_t>(b)]);
  set_ints(c.add_node("Transpose", {c.name(node->input(0))}, {c.fresh(node->output())}), "perm", perm);
}

// aten::squeeze(x[, dim]) -> Squeeze (axes as an input, opset 13+). torch leaves a dim that is not
// 1 alone where ONNX refuses it: the graphs this meets (an imported ONNX Squeeze, an RNN's
// direction dim) squeeze dims of size 1 only.
void translate_squeeze(ExportContext& c, const torch::jit::Node* node) {
  std::vector<std::string> inputs = {c.name(node->input(0))};
  if (node->inputs().size() > 1) {
    auto dim = c.constant_int(node->input(1));
    if (!dim) unsupported(node, "a squeeze dim computed at run time");
    inputs.push_back(c.add_ints({*dim}, "squeeze_axes"));
  }
  c.add_node("Squeeze", inputs, {c.fresh(node->output())});
}

// aten::floordiv(a, b) of run-time sizes (0-d int64 values, e.g. channels // groups) -> Div:
// sizes are >= 0, so ONNX's truncating integer division equals flooring.
void translate_floordiv(ExportContext& c, const torch::jit::Node* node) {
  auto operand = [&](const torch::jit::Value* v) {
    if (auto k = c.constant_int(v)) return c.add_initializer(at::scalar_tensor(*k, at::kLong), "int");
    if (v->type()->kind() != c10::TypeKind::IntType) unsupported(node, "floor division of tensors");
    return c.name(v);
  };
  c.add_node("Div", {operand(node->input(0)), operand(node->input(1))}, {c.fresh(node->output())});
}

// aten::chunk(x, chunks, dim) unpacked at once by prim::ListUnpack (ShuffleNet's channel split) ->
// Split into equal parts, one output per unpacked value (torch's uneven last chunk has no equal-
// split ONNX form; such a model fails in ONNX Runtime's shape check, not silently).
void translate_chunk(ExportContext& c, const torch::jit::Node* node) {
  auto chunks = c.constant_int(node->input(1)), dim = c.constant_int(node->input(2));
  if (!chunks || !dim) unsupported(node, "chunks or dim computed at run time");
  const auto* unpack = unpacked_by(node->output());
  if (!unpack || static_cast<int64_t>(unpack->outputs().size()) != *chunks) unsupported(node, "chunks used other than unpacked at once");
  std::vector<std::string> parts;
  for (const auto* part : unpack->outputs()) parts.push_back(c.fresh(part));
  c.add_split({c.name(node->input(0))}, parts, *dim);
}

// prim::ListUnpack of an aten::chunk (its Split named the values) or of a list exported as a 1-D
// int64 value (a whole aten::size, an imported run-time shape).
void translate_list_unpack(ExportContext& c, const torch::jit::Node* node) {
  const auto kind = node->input()->node()->kind();
  if (kind == c10::aten::chunk || c.is_bound(node->output(0))) return;  // parts a chunk or split named
  if (!c.is_bound(node->input())) unsupported(node, "unpacking a list that is neither a chunk nor a shape");
  for (size_t i = 0; i < node->outputs().size(); ++i) gather_dim(c, c.name(node->input()), static_cast<int64_t>(i), node->output(i));
}

// aten::cat(ListConstruct(tensors...), dim)
void translate_cat(ExportContext& c, const torch::jit::Node* node) {
  auto* list = node->input(0)->node();
  if (list->kind() != c10::prim::ListConstruct) unsupported(node, "a tensor list that is not built in the graph");
  auto dim = c.constant_int(node->input(1));
  if (!dim) unsupported(node, "a run-time dim");
  std::vector<std::string> inputs;
  for (const auto* value : list->inputs()) inputs.push_back(c.name(value));
  auto& concat = c.add_node("Concat", inputs, {c.fresh(node->output())});
  set_int(concat, "axis", *dim);
}

// aten::unsqueeze(x, dim) -> Unsqueeze (axes as an input, opset 13+).
void translate_unsqueeze(ExportContext& c, const torch::jit::Node* node) {
  auto dim = c.constant_int(node->input(1));
  if (!dim) unsupported(node, "a run-time dim");
  c.add_node("Unsqueeze", {c.name(node->input(0)), c.add_ints({*dim}, "axes")}, {c.fresh(node->output())});
}

// aten::to(x, dtype | other | device, dtype, ...) -> Cast to the dtype the example run recorded;
// inside a branch (which the run does not record) to the constant dtype argument.
void translate_to(ExportContext& c, const torch::jit::Node* node) {
  auto type = c.dtype(node->output());
  for (size_t i = 1; !type && i < 3 && i < node->inputs().size(); ++i) {
    if (node->input(i)->type()->kind() != c10::TypeKind::IntType) continue;  // to(x, dtype) / to(x, device, dtype)
    if (auto code = c.constant_int(node->input(i))) type = static_cast<at::ScalarType>(*code);
  }
  if (!type) unsupported(node, "a conversion whose result type is unknown");
  c.bind(node->output(), c.as_type(node->input(0), *type));
}

// aten::embedding(weight, indices, padding_idx, ...) at inference: rows of the table -> Gather.
void translate_embedding(ExportContext& c, const torch::jit::Node* node) {
  set_int(c.add_node("Gather", {c.name(node->input(0)), c.name(node->input(1))}, {c.fresh(node->output())}), "axis", 0);
}

// aten::index_select(x, dim, index) -> Gather; aten::select(x, dim, i) -> Gather of a 0-d index
// (drops the dim); aten::gather(x, dim, index) -> GatherElements.
void translate_index_select(ExportContext& c, const torch::jit::Node* node) {
  if (node->input(0)->type()->kind() != c10::TypeKind::TensorType) unsupported(node, "selecting from a list");
  auto dim = c.constant_int(node->input(1));
  if (!dim) unsupported(node, "a run-time dim");
  set_int(c.add_node("Gather", {c.name(node->input(0)), c.as_type(node->input(2), at::kLong)}, {c.fresh(node->output())}),
          "axis", *dim);
}

void translate_gather(ExportContext& c, const torch::jit::Node* node) {
  auto dim = c.constant_int(node->input(1));
  if (!dim) unsupported(node, "a run-time dim");
  if (node->inputs().size() > 3 && c.constant_int(node->input(3)).value_or(1) != 0) unsupported(node, "sparse_grad");
  set_int(c.add_node("GatherElements", {c.name(node->input(0)), c.name(node->input(2))}, {c.fresh(node->output())}), "axis",
          *dim);
}

// aten::flip(x, dims) -> Slice from the end with step -1 along each dim.
// Dims may be run-time ints (an imported reverse CumSum's axis): Slice takes its axes as an input.
void translate_flip(ExportContext& c, const torch::jit::Node* node) {
  const auto* dims = node->input(1);
  size_t n = 0;
  if (auto known = c.constant_ints(dims)) n = known->size();
  else if (dims->node()->kind() == c10::prim::ListConstruct) n = dims->node()->inputs().size();
  else unsupported(node, "a run-time list of dims");
  c.add_node("Slice",
             {c.name(node->input(0)), c.add_ints(std::vector<int64_t>(n, -1), "starts"),
              c.add_ints(std::vector<int64_t>(n, std::numeric_limits<int64_t>::min()), "ends"), int_list_value(c, node, dims),
              c.add_ints(std::vector<int64_t>(n, -1), "steps")},
             {c.fresh(node->output())});
}

// aten::t(x): transposes a 2-D tensor; 0-D and 1-D tensors are returned as they are.
void translate_t(ExportContext& c, const torch::jit::Node* node) {
  auto rank = stated_rank(c, node->input(0));
  if (!rank) unsupported(node, "an input of unknown rank");
  if (*rank < 2) {
    c.bind(node->output(), c.name(node->input(0)));
    return;
  }
  set_ints(c.add_node("Transpose", {c.name(node->input(0))}, {c.fresh(node->output())}), "perm", {1, 0});
}

// aten::movedim(x, source, destination) -> Transpose (needs x's rank).
void translate_movedim(ExportContext& c, const torch::jit::Node* node) {
  auto rank = stated_rank(c, node->input(0));
  auto source = c.constant_ints(node->input(1)), destination = c.constant_ints(node->input(2));
  if (!rank || !source || !destination || source->size() != destination->size()) {
    unsupported(node, "an input of unknown rank or run-time dims");
  }
  const auto n = *rank;
  auto wrap = [n](int64_t d) { return (d % n + n) % n; };
  std::vector<int64_t> perm(static_cast<size_t>(n), -1);
  std::vector<bool> moved(static_cast<size_t>(n), false);
  for (size_t i = 0; i < source->size(); ++i) {
    perm[static_cast<size_t>(wrap((*destination)[i]))] = wrap((*source)[i]);
    moved[static_cast<size_t>(wrap((*source)[i]))] = true;
  }
  int64_t next = 0;
  for (auto& p : perm) {
    if (p >= 0) continue;
    while (moved[static_cast<size_t>(next)]) ++next;
    p = next++;
  }
  set_ints(c.add_node("Transpose", {c.name(node->input(0))}, {c.fresh(node->output())}), "perm", perm);
}

// aten::tril/triu(x, diagonal) -> Trilu (the diagonal a 0-d int64 value, constant or computed).
template <int64_t kUpper>
void translate_trilu(ExportContext& c, const torch::jit::Node* node) {
  set_int(c.add_node("Trilu", {c.name(node->input(0)), c.as_type(node->input(1), at::kLong)}, {c.fresh(node->output())}),
          "upper", kUpper);
}

// aten::numel(x) -> Size (a 0-d int64 value, as sizes are here).
void translate_numel(ExportContext& c, const torch::jit::Node* node) {
  c.add_node("Size", {c.name(node->input(0))}, {c.fresh(node->output())});
}

// aten::constant_pad_nd(x, pad, value): torch lists (begin, end) pairs from the last dim backwards;
// ONNX wants every dim's begins, then every dim's ends (needs x's rank).
void translate_constant_pad(ExportContext& c, const torch::jit::Node* node) {
  auto pad = c.constant_ints(node->input(1));
  auto rank = stated_rank(c, node->input(0));
  if (!pad || !rank || pad->size() % 2 != 0 || static_cast<int64_t>(pad->size() / 2) > *rank) {
    unsupported(node, "run-time pads or an input of unknown rank");
  }
  const auto n = static_cast<size_t>(*rank);
  std::vector<int64_t> pads(2 * n, 0);
  for (size_t i = 0; i < pad->size() / 2; ++i) {
    pads[n - 1 - i] = (*pad)[2 * i];
    pads[2 * n - 1 - i] = (*pad)[2 * i + 1];
  }
  auto type = c.dtype(node->input(0)).value_or(at::kFloat);
  c.add_node("Pad", {c.name(node->input(0)), c.add_ints(pads, "pads"), c.as_type(node->input(2), type)},
             {c.fresh(node->output())});
}

// aten::expand(x, size): torch's -1 keeps a dim, ONNX's Expand broadcasts (a 1 keeps it), so -1
// becomes 1: in a constant size directly, in one computed at run time (ViT's class token expanded
// to the batch: expand(x.size(0), -1, -1)) by Abs, as every other entry is a size >= 0.
void translate_expand(ExportContext& c, const torch::jit::Node* node) {
  std::string shape;
  if (auto size = c.constant_ints(node->input(1))) {
    for (auto& d : *size) d = d == -1 ? 1 : d;
    shape = c.add_ints(*size, "expand_shape");
  } else {
    shape = c.fresh("expand_shape");
    c.add_node("Abs", {int_list_value(c, node, node->input(1))}, {shape});
  }
  c.add_node("Expand", {c.name(node->input(0)), shape}, {c.fresh(node->output())});
}

// aten::arange(end | start, end | start, end, step, dtype, ...) -> Range of 0-d values in the result's
// recorded dtype (both count ceil((end - start) / step) elements).
void translate_arange(ExportContext& c, const torch::jit::Node* node) {
  const auto type = result_dtype(c, node);
  // arange(end, dtype, layout, device, pin) has 5 inputs, (start, end, ...) 6, (start, end, step, ...) 7.
  if (node->inputs().size() < 5 || node->inputs().size() > 7) unsupported(node, "an arange overload with an out tensor");
  const size_t numbers = node->inputs().size() - 4;
  auto scalar = [&](int64_t value) { return c.add_initializer(at::scalar_tensor(value, at::kLong).to(type), "range"); };
  std::string start = numbers == 1 ? scalar(0) : c.as_type(node->input(0), type);
  std::string end = c.as_type(node->input(numbers == 1 ? 0 : 1), type);
  std::string step = numbers == 3 ? c.as_type(node->input(2), type) : scalar(1);
  c.add_node("Range", {start, end, step}, {c.fresh(node->output())});
}

// aten::dropout(x, p, train) at inference is the identity.
void translate_dropout(ExportContext& c, const torch::jit::Node* node) {
  if (c.constant_int(node->input(2)).value_or(1) != 0) unsupported(node, "dropout in training mode");
  c.bind(node->output(), c.name(node->input(0)));
}

}  // namespace

std::vector<TranslatorEntry> tensor_translators() {
  return {
      {"aten::flatten", translate_flatten}, {"aten::reshape", translate_reshape}, {"aten::view", translate_reshape},
      {"aten::size", translate_size}, {"aten::__getitem__", translate_getitem}, {"prim::TupleIndex", translate_tuple_index},
      {"aten::floordiv", translate_floordiv}, {"aten::slice", translate_slice},
      {"aten::chunk", translate_chunk}, {"prim::ListUnpack", translate_list_unpack},
      {"aten::permute", translate_permute}, {"aten::transpose", translate_transpose}, {"aten::squeeze", translate_squeeze}, {"aten::cat", translate_cat},         
      {"aten::unsqueeze", translate_unsqueeze}, {"aten::to", translate_to},
      {"aten::embedding", translate_embedding},
      {"aten::index_select", translate_index_select}, {"aten::select", translate_index_select}, {"aten::gather", translate_gather},
      {"aten::flip", translate_flip}, {"aten::t", translate_t}, {"aten::movedim", translate_movedim},
      {"aten::tril", translate_trilu<0>}, {"aten::triu", translate_trilu<1>}, {"aten::constant_pad_nd", translate_constant_pad},
      {"aten::expand", translate_expand}, {"aten::arange", translate_arange}, {"aten::numel", translate_numel},
      {"aten::dropout", translate_dropout}, {"aten::dropout_", translate_dropout}, {"aten::feature_dropout", translate_dropout},
  };
}

}  // namespace mopt::onnx_export
