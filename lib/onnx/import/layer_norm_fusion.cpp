// LayerNorm fusion.
//
// Before (torch.onnx.export of nn.LayerNorm(C) below opset 17):
//   m = ReduceMean(X, axes=[-1]); D = Sub(X, m); P = Pow(D, 2); v = ReduceMean(P, axes=[-1])
//   s = Sqrt(Add(v, eps)); N = Div(D, s); [M = Mul(N, weight[C])]; [Y = Add(M, bias[C])]
// After:
//   Y = torch.layer_norm(X, [C], weight, bias, eps)   (one LayerNorm layer)
// Preconditions: both means over the last axis only with keepdims; eps, weight and bias
// constants (weight/bias 1-D of size C; C also known from a static last dim when they are absent);
// every intermediate value read only inside the pattern (D by exactly Pow and Div).
// Math: the same biased-variance normalization; LibTorch computes it in one kernel.
#include <fmt/format.h>

#include "lib/onnx/import/fusions.h"

namespace mopt::onnx_import {
namespace {

// A ReduceMean over the last axis only, keeping dims (axes as attribute: opsets below 18).
bool is_last_axis_mean(const onnx::NodeProto& node, std::optional<int64_t> rank) {
  if (!is_op(&node, "ReduceMean") || node.input_size() != 1) return false;
  std::vector<int64_t> axes;
  int64_t keepdims = 1;
  for (const auto& attr : node.attribute()) {
    if (attr.name() == "axes") axes.assign(attr.ints().begin(), attr.ints().end());
    if (attr.name() == "keepdims") keepdims = attr.i();
  }
  return keepdims == 1 && axes.size() == 1 && (axes[0] == -1 || (rank && axes[0] == *rank - 1));
}

}  // namespace

bool fuse_layer_norm(NodeContext& c) {
  const auto& mean = c.node();
  auto rank = c.input_rank(0);
  if (!is_last_axis_mean(mean, rank)) return false;
  const auto& x = mean.input(0);
  auto* sub = only_reader(c, mean.output(0), "Sub");
  if (!sub || sub->input(0) != x || sub->input(1) != mean.output(0)) return false;
  const auto& d = sub->output(0);
  auto d_readers = c.readers_of(d);
  if (d_readers.size() != 2) return false;
  const onnx::NodeProto* pow = is_op(d_readers[0], "Pow") ? d_readers[0] : d_readers[1];
  const onnx::NodeProto* div = pow == d_readers[0] ? d_readers[1] : d_readers[0];
  if (!is_op(pow, "Pow") || !is_op(div, "Div") || pow->input(0) != d || div->input(0) != d) return false;
  auto* exponent = c.constant_of(pow->input(1));
  if (!exponent || exponent->numel() != 1 || exponent->item<double>() != 2.0) return false;
  auto* variance = only_reader(c, pow->output(0), "ReduceMean");
  if (!variance || !is_last_axis_mean(*variance, rank)) return false;
  auto* add_eps = only_reader(c, variance->output(0), "Add");
  if (!add_eps) return false;
  auto* eps = c.constant_of(other_input(*add_eps, variance->output(0)));
  if (!eps || eps->numel() != 1) return false;
  auto* sqrt = only_reader(c, add_eps->output(0), "Sqrt");
  if (!sqrt || div->input(1) != sqrt->output(0) || only_reader(c, sqrt->output(0), "Div") != div) return false;

  // Optional affine part.
  const onnx::NodeProto* last = div;
  at::Tensor weight, bias;
  std::string weight_name, bias_name;
  if (auto* mul = only_reader(c, div->output(0), "Mul")) {
    auto* w = c.constant_of(other_input(*mul, div->output(0)));
    if (w && w->dim() == 1) {
      weight = *w;
      weight_name = other_input(*mul, div->output(0));
      last = mul;
      if (auto* add = only_reader(c, mul->output(0), "Add")) {
        auto* b = c.constant_of(other_input(*add, mul->output(0)));
        if (b && b->dim() == 1 && b->size(0) == w->size(0)) {
          bias = *b;
          bias_name = other_input(*add, mul->output(0));
          last = add;
        }
      }
    }
  }
  int64_t width = weight.defined() ? weight.size(0) : -1;
  if (auto dims = c.input_dims(0); dims && !dims->empty() && dims->back() > 0) {
    if (width >= 0 && width != dims->back()) return false;
    width = dims->back();
  }
  if (width <= 0 || !c.input_elem_type(0) || c.input_elem_type(0) != onnx::TensorProto::FLOAT) return false;

  LayerSpec layer;
  layer.type_name = "torch.nn.modules.normalization.LayerNorm";
  layer.name_hint = weight_name.empty() ? mean.name() : weight_name;
  layer.tensors.push_back({"weight", weight.defined() ? weight.to(at::kFloat) : at::ones({width}), weight_name});
  layer.tensors.push_back({"bias", bias.defined() ? bias.to(at::kFloat) : at::zeros({width}), bias_name});
  layer.float_attributes = {{"eps", eps->item<double>()}};
  layer.forward_source = fmt::format(
      "def forward(self, input: Tensor) -> Tensor:\n"
      "    return torch.layer_norm(input, [{}], self.weight, self.bias, self.eps, False)\n",
      width);
  auto result = c.output(0);
  c.emit(fmt::format("{} = {}({})", result, c.add_layer(std::move(layer)), c.input(0)));
  for (const auto* node : {sub, pow, variance, add_eps, sqrt, div}) c.absorb(*node, result);
  for (const auto* node = div; node != last;) {
    node = c.readers_of(node->output(0)).front();
    c.absorb(*node, result);
  }
  return true;
}

}  // namespace mopt::onnx_import
