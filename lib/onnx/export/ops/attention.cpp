// Attention and advanced indexing, as the transformers that PyTorch 2.x saves call them:
// aten::scaled_dot_product_attention written out as MatMul, Softmax, MatMul, and aten::index with
// tensor indices (Hugging Face's mask building: mask[batch_idx, kv_idx]) as one Gather.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "lib/onnx/export/export_context.h"

namespace mopt::onnx_export {
namespace {

using torch::jit::Node;

// aten::scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal, scale, enable_gqa)
//   = softmax(q @ k^T * scale + mask) @ v, scale = 1 / sqrt(E) (E: q's last dim) unless given.
// A boolean mask keeps the positions where it is true (the others get -inf before the softmax); a
// float mask is added. Preconditions: no dropout (inference), not causal, no grouped-query attention.
void translate_sdpa(ExportContext& c, const Node* node) {
  if (c.constant_double(node->input(4)).value_or(1.0) != 0.0) unsupported(node, "dropout inside attention");
  auto causal = c.constant(node->input(5));
  if (!causal || !causal->isBool() || causal->toBool()) unsupported(node, "causal attention (is_causal)");
  if (node->inputs().size() > 7) {
    auto gqa = c.constant(node->input(7));
    if (!gqa || !gqa->isBool() || gqa->toBool()) unsupported(node, "grouped-query attention (enable_gqa)");
  }
  auto query_sizes = c.example_sizes(node->input(0));
  if (!query_sizes || query_sizes->size() < 2) unsupported(node, "a query whose rank is not known when exporting");
  const auto rank = static_cast<int64_t>(query_sizes->size());
  const double scale = c.is_none(node->input(6)) ? 1.0 / std::sqrt(static_cast<double>(query_sizes->back()))
                                                  : c.constant_double(node->input(6)).value_or(std::nan(""));
  if (std::isnan(scale)) unsupported(node, "a run-time scale");
  const auto type = c.dtype(node->input(0)).value_or(at::kFloat);

  std::vector<int64_t> perm(static_cast<size_t>(rank));
  std::iota(perm.begin(), perm.end(), 0);
  std::swap(perm[perm.size() - 1], perm[perm.size() - 2]);
  auto key_t = c.fresh("key_t"), query = c.fresh("query_scaled"), scores = c.fresh("scores");
  set_ints(c.add_node("Transpose", {c.name(node->input(1))}, {key_t}), "perm", perm);
  c.add_node("Mul", {c.name(node->input(0)), c.add_initializer(at::scalar_tensor(scale, type), "attention_scale")}, {query});
  c.add_node("MatMul", {query, key_t}, {scores});
  const auto* mask = node->input(3);
  if (!c.is_none(mask)) {
    auto masked = c.fresh("scores_masked");
    if (c.dtype(mask) == at::kBool) {
      auto minus_inf = c.add_initializer(at::scalar_tensor(-std::numeric_limits<double>::infinity(), type), "minus_inf");
      c.add_node("Where", {c.name(mask), scores, minus_inf}, {masked});
    } else {
      c.add_node("Add", {scores, c.as_type(mask, type)}, {masked});
    }
    scores = masked;
  }
  auto weights = c.fresh("attention_weights");
  set_int(c.add_node("Softmax", {scores}, {weights}), "axis", -1);
  c.add_node("MatMul", {weights, c.name(node->input(2))}, {c.fresh(node->output())});
}

// aten::index(x, [i0, ..., ik-1]) with tensor indices for x's first k dims (no slice before them):
// the k dims flattened into one and a Gather by the linear index i0 * d1 * ... * dk-1 + ... + ik-1.
// The indices broadcast against each other as torch broadcasts them; negative ones count from the end.
void translate_index(ExportContext& c, const Node* node) {
  std::vector<std::string> indices;  // int64 ONNX values
  const auto* list = node->input(1);
  if (list->node()->kind() == c10::prim::ListConstruct) {
    for (const auto* index : list->node()->inputs()) {
      if (c.is_none(index)) unsupported(node, "a slice (None) among the indices");
      if (c.dtype(index) == at::kBool) unsupported(node, "a boolean mask index");
      indices.push_back(c.as_type(index, at::kLong));
    }
  } else if (auto constant = c.constant(list); constant && constant->isList()) {  // traced constant indices (Tensor?[])
    for (const auto& index : constant->toListRef()) {
      if (!index.isTensor()) unsupported(node, "a slice (None) among the indices");
      if (index.toTensor().scalar_type() == at::kBool) unsupported(node, "a boolean mask index");
      indices.push_back(c.add_initializer(index.toTensor().to(at::kLong), "index"));
    }
  } else {
    unsupported(node, "an index list that is neither built in the graph nor constant");
  }
  if (indices.empty()) unsupported(node, "no index");
  auto shape = c.fresh("shape");
  c.add_node("Shape", {c.name(node->input(0))}, {shape});
  std::string linear;
  for (size_t i = 0; i < indices.size(); ++i) {
    auto dim = c.fresh("dim"), index = c.fresh("index");
    set_int(c.add_node("Gather", {shape, c.add_initializer(at::scalar_tensor(static_cast<int64_t>(i), at::kLong), "axis")}, {dim}),
            "axis", 0);
    set_int(c.add_node("Mod", {indices[i], dim}, {index}), "fmod", 0);  // -1 -> d - 1
    if (i == 0) {
      linear = index;
      continue;
    }
    auto scaled = c.fresh("linear_scaled"), sum = c.fresh("linear_index");
    c.add_node("Mul", {linear, dim}, {scaled});
    c.add_node("Add", {scaled, index}, {sum});
    linear = sum;
  }
  auto rest = c.fresh("rest_dims"), flat_shape = c.fresh("flat_shape"), flat = c.fresh("flat");
  c.add_node("Slice", {shape, c.add_ints({static_cast<int64_t>(indices.size())}, "starts"),
                       c.add_ints({std::numeric_limits<int64_t>::max()}, "ends")},
             {rest});
  set_int(c.add_node("Concat", {c.add_ints({-1}, "minus_one"), rest}, {flat_shape}), "axis", 0);
  c.add_node("Reshape", {c.name(node->input(0)), flat_shape}, {flat});
  set_int(c.add_node("Gather", {flat, linear}, {c.fresh(node->output())}), "axis", 0);
}

}  // namespace

std::vector<TranslatorEntry> attention_translators() {
  return {
      {"aten::scaled_dot_product_attention", translate_sdpa},
      {"aten::index", translate_index},
  };
}

}  // namespace mopt::onnx_export
