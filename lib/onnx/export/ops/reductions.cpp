// Reductions: mean, sum, max/min (values and indices), argmax/argmin, logsumexp, prod, cumsum,
// variance, determinant and the negative log-likelihood loss. Reduce* nodes take their axes as
// ExportContext::add_reduce writes them for the opset (an attribute, or an input from opset 18).
#include <fmt/format.h>

#include "lib/onnx/export/export_context.h"

namespace mopt::onnx_export {
namespace {

// dims and keepdim of a reduction over listed dims; an empty list means every dim, as in torch.
struct Reduction {
  std::vector<int64_t> dims;
  int64_t keepdim = 0;
};

Reduction reduction(ExportContext& c, const torch::jit::Node* node, size_t dims_at, size_t keepdim_at) {
  auto dims = c.constant_ints(node->input(dims_at));
  auto keepdim = c.constant_int(node->input(keepdim_at));
  if (!dims || !keepdim) unsupported(node, "dims computed at run time");
  return {*dims, *keepdim};
}

// Reduce* over r.dims (empty: every dim).
void reduce(ExportContext& c, const std::string& op, const std::string& x, const Reduction& r, const std::string& out) {
  c.add_reduce(op, x, r.dims, r.keepdim, out);
}

// The input, cast to the result's recorded dtype (a dtype= argument, or torch summing ints as int64).
std::string input_as_result(ExportContext& c, const torch::jit::Node* node) {
  auto type = c.dtype(node->output());
  return type ? c.as_type(node->input(0), *type) : c.name(node->input(0));
}

// aten::mean(x, dims, keepdim, dtype) / aten::mean(x, dtype) -> ReduceMean.
void translate_mean(ExportContext& c, const torch::jit::Node* node) {
  Reduction r = node->inputs().size() == 2 ? Reduction{} : reduction(c, node, 1, 2);
  reduce(c, "ReduceMean", input_as_result(c, node), r, c.fresh(node->output()));
}

// aten::sum(x, dims, keepdim, dtype) / aten::sum(x, dtype) -> ReduceSum (axes as an input).
// Run-time dims (an imported model's axes input) stay an input; an empty list reduces every dim in
// both.
void translate_sum(ExportContext& c, const torch::jit::Node* node) {
  std::vector<std::string> inputs = {input_as_result(c, node)};
  int64_t keepdim = 0;
  if (node->inputs().size() > 2) {
    auto keep = c.constant_int(node->input(2));
    if (!keep) unsupported(node, "keepdim computed at run time");
    keepdim = *keep;
    auto dims = c.constant_ints(node->input(1));
    if (!dims || !dims->empty()) inputs.push_back(int_list_value(c, node, node->input(1)));
  }
  set_int(c.add_node("ReduceSum", inputs, {c.fresh(node->output())}), "keepdims", keepdim);
}

// aten::prod(x, dim, keepdim, dtype) / aten::prod(x, dtype) -> ReduceProd.
void translate_prod(ExportContext& c, const torch::jit::Node* node) {
  Reduction r;
  if (node->inputs().size() > 2) {
    auto dim = c.constant_int(node->input(1));
    auto keepdim = c.constant_int(node->input(2));
    if (!dim || !keepdim) unsupported(node, "a dim computed at run time");
    r = {{*dim}, *keepdim};
  }
  reduce(c, "ReduceProd", input_as_result(c, node), r, c.fresh(node->output()));
}

// aten::amax/amin(x, dims, keepdim) -> ReduceMax/ReduceMin; aten::logsumexp likewise.
template <const char* kOp>
void reduce_dims(ExportContext& c, const torch::jit::Node* node) {
  reduce(c, kOp, c.name(node->input(0)), reduction(c, node, 1, 2), c.fresh(node->output()));
}

constexpr char kReduceMax[] = "ReduceMax";
constexpr char kReduceMin[] = "ReduceMin";
constexpr char kReduceLogSumExp[] = "ReduceLogSumExp";
constexpr char kArgMax[] = "ArgMax";
constexpr char kArgMin[] = "ArgMin";
constexpr char kMax[] = "Max";
constexpr char kMin[] = "Min";

// aten::max/min(x) -> the whole tensor's extreme; aten::max/min(x, dim, keepdim) -> (values,
// indices), two outputs; aten::max/min(x, y) -> the elementwise Max/Min.
template <const char* kReduce, const char* kArg, const char* kElementwise>
void translate_extreme(ExportContext& c, const torch::jit::Node* node) {
  if (node->inputs().size() == 2) {
    add_extreme(c, kElementwise, node->input(0), node->input(1), c.dtype(node->output()).value_or(at::kFloat), node->output());
    return;
  }
  const auto x = c.name(node->input(0));
  if (node->inputs().size() == 1) {
    reduce(c, kReduce, x, Reduction{}, c.fresh(node->output()));
    return;
  }
  auto dim = c.constant_int(node->input(1));
  auto keepdim = c.constant_int(node->input(2));
  if (!dim || !keepdim) unsupported(node, "a dim computed at run time");
  reduce(c, kReduce, x, Reduction{{*dim}, *keepdim}, c.fresh(node->output(0)));
  auto& arg = c.add_node(kArg, {x}, {c.fresh(node->output(1))});
  set_int(arg, "axis", *dim);
  set_int(arg, "keepdims", *keepdim);
}


// aten::argmax/argmin(x, dim, keepdim): a None dim indexes the flattened tensor (keepdim ignored).
// Both pick the first of equal values.
template <const char* kOp>
void translate_arg(ExportContext& c, const torch::jit::Node* node) {
  auto x = c.name(node->input(0));
  int64_t axis = 0, keepdim = 0;
  if (c.is_none(node->input(1))) {
    auto flat = c.fresh("flat");
    c.add_node("Reshape", {x, c.add_ints({-1}, "flat_shape")}, {flat});
    x = flat;
  } else {
    auto dim = c.constant_int(node->input(1));
    auto keep = c.constant_int(node->input(2));
    if (!dim || !keep) unsupported(node, "a dim computed at run time");
    axis = *dim;
    keepdim = *keep;
  }
  auto& arg = c.add_node(kOp, {x}, {c.fresh(node->output())});
  set_int(arg, "axis", axis);
  set_int(arg, "keepdims", keepdim);
}

// aten::cumsum(x, dim, dtype) -> CumSum (axis a 0-d int64 value, constant or computed).
void translate_cumsum(ExportContext& c, const torch::jit::Node* node) {
  c.add_node("CumSum", {input_as_result(c, node), c.as_type(node->input(1), at::kLong)}, {c.fresh(node->output())});
}

// aten::nll_loss_nd(log_probs, target, weight, reduction, ignore_index) -> NegativeLogLikelihoodLoss
// (torch's reductions 0, 1, 2 are ONNX's "none", "mean", "sum"; both average over the weights of
// the targets not ignored).
void translate_nll_loss(ExportContext& c, const torch::jit::Node* node) {
  auto reduction = c.constant_int(node->input(3));
  auto ignore_index = c.constant_int(node->input(4));
  if (!reduction || !ignore_index || *reduction < 0 || *reduction > 2) unsupported(node, "a reduction or ignore_index computed at run time");
  std::vector<std::string> inputs = {c.name(node->input(0)), c.as_type(node->input(1), at::kLong)};
  if (!c.is_none(node->input(2))) inputs.push_back(c.name(node->input(2)));
  auto& loss = c.add_node("NegativeLogLikelihoodLoss", inputs, {c.fresh(node->output())});
  set_string(loss, "reduction", *reduction == 0 ? "none" : *reduction == 1 ? "mean" : "sum");
  set_int(loss, "ignore_index", *ignore_index);
}

// aten::var(x, dims, unbiased=False, keepdim): the population variance, mean((x - mean(x))^2).
void translate_var(ExportContext& c, const torch::jit::Node* node) {
  if (node->inputs().size() != 4 || c.constant_int(node->input(2)).value_or(1) != 0) {
    unsupported(node, "a variance other than the population one (unbiased=False)");
  }
  auto r = reduction(c, node, 1, 3);
  auto mean = c.fresh("mean"), centered = c.fresh("centered"), squared = c.fresh("squared");
  reduce(c, "ReduceMean", c.name(node->input(0)), {r.dims, 1}, mean);
  c.add_node("Sub", {c.name(node->input(0)), mean}, {centered});
  c.add_node("Mul", {centered, centered}, {squared});
  reduce(c, "ReduceMean", squared, r, c.fresh(node->output()));
}

// aten::linalg_det(x) -> Det (of the last two dims).
void translate_det(ExportContext& c, const torch::jit::Node* node) {
  c.add_node("Det", {c.name(node->input(0))}, {c.fresh(node->output())});
}

}  // namespace

std::vector<TranslatorEntry> reduction_translators() {
  return {
      {"aten::mean", translate_mean},
      {"aten::sum", translate_sum},
      {"aten::prod", translate_prod},
      {"aten::amax", reduce_dims<kReduceMax>},
      {"aten::amin", reduce_dims<kReduceMin>},
      {"aten::logsumexp", reduce_dims<kReduceLogSumExp>},
      {"aten::max", translate_extreme<kReduceMax, kArgMax, kMax>},
      {"aten::min", translate_extreme<kReduceMin, kArgMin, kMin>},
      {"aten::argmax", translate_arg<kArgMax>},
      {"aten::argmin", translate_arg<kArgMin>},
      {"aten::cumsum", translate_cumsum},
      {"aten::nll_loss_nd", translate_nll_loss},
      {"aten::var", translate_var},
      {"aten::linalg_det", translate_det},
  };
}

}  // namespace mopt::onnx_export
