// BatchNormalization, InstanceNormalization, LayerNormalization, GroupNormalization, LRN and LpNormalization.
// Constant scale/bias/statistics become BatchNorm/InstanceNorm/LayerNorm layers scripted as
// torch.nn does them (aten::batch_norm etc. on self tensors), so BN folding finds them.
#include <fmt/format.h>

#include "lib/onnx/import/converter_table.h"

namespace mopt::onnx_import {
namespace {

std::string norm_dims(NodeContext& c) {
  auto rank = c.input_rank(0);
  return !rank ? "2" : (*rank <= 3 ? "1" : (*rank == 4 ? "2" : "3"));
}

// Training mode (opset 14+): normalized by the batch's statistics (population variance), and the
// running statistics updated as input * momentum + batch * (1 - momentum), in the reference's order.
void batch_norm_training(NodeContext& c) {
  double eps = c.attr_float("epsilon", 1e-5), momentum = c.attr_float("momentum", 0.9);
  auto x = c.input(0);
  auto dims = c.temp(), shape = c.temp(), mean = c.temp(), variance = c.temp();
  c.emit(fmt::format("{} = [0] + list(range(2, {}.dim()))", dims, x));
  c.emit(fmt::format("{} = [1, -1] + [1 for _ in range({}.dim() - 2)]", shape, x));
  c.emit(fmt::format("{} = torch.mean({}, {}, False)", mean, x, dims));
  c.emit(fmt::format("{} = torch.var({}, {}, False, False)", variance, x, dims));
  c.assign(0, fmt::format("torch.add(torch.div(torch.mul({2}.reshape({1}), torch.sub({0}, {3}.reshape({1}))), "
                          "torch.sqrt(torch.add({4}.reshape({1}), {5}))), {6}.reshape({1}))",
                          x, shape, c.input(1), mean, variance, float_literal(eps), c.input(2)));
  for (int i : {1, 2}) {
    if (!c.output_used(i)) continue;
    c.assign(i, fmt::format("torch.add(torch.mul({}, {}), torch.mul({}, {}))", c.input(i + 2), float_literal(momentum),
                            i == 1 ? mean : variance, float_literal(1.0 - momentum)));
  }
}

void convert_batch_norm(NodeContext& c) {
  if (c.attr_int("training_mode", 0) != 0 && c.opset() >= 14) return batch_norm_training(c);
  c.require(c.attr_int("training_mode", 0) == 0, "BatchNormalization in training mode");
  for (int i = 1; i < c.output_count(); ++i) c.require(!c.output_used(i), "BatchNormalization's running-statistics outputs");
  double eps = c.attr_float("epsilon", 1e-5), momentum = c.attr_float("momentum", 0.9);
  bool constant = c.constant(1) && c.constant(2) && c.constant(3) && c.constant(4);
  if (constant) {
    LayerSpec layer;
    layer.type_name = "torch.nn.modules.batchnorm.BatchNorm" + norm_dims(c) + "d";
    layer.name_hint = c.node().input(1);
    layer.tensors.push_back({"weight", *c.constant(1), c.node().input(1)});
    layer.tensors.push_back({"bias", *c.constant(2), c.node().input(2)});
    layer.tensors.push_back({"running_mean", *c.constant(3), c.node().input(3), false});
    layer.tensors.push_back({"running_var", *c.constant(4), c.node().input(4), false});
    layer.float_attributes = {{"eps", eps}, {"momentum", 1.0 - momentum}};
    layer.forward_source =
        "def forward(self, input: Tensor) -> Tensor:\n"
        "    return torch.batch_norm(input, self.weight, self.bias, self.running_mean, self.running_var, False, "
        "self.momentum, self.eps, False)\n";
    c.assign(0, fmt::format("{}({})", c.add_layer(std::move(layer)), c.input(0)));
    return;
  }
  c.assign(0, fmt::format("torch.batch_norm({}, {}, {}, {}, {}, False, 0.1, {}, False)", c.input(0), c.input(1), c.input(2),
                          c.input(3), c.input(4), float_literal(eps)));
}

void convert_instance_norm(NodeContext& c) {
  double eps = c.attr_float("epsilon", 1e-5);
  if (c.constant(1) && c.constant(2)) {
    LayerSpec layer;
    layer.type_name = "torch.nn.modules.instancenorm.InstanceNorm" + norm_dims(c) + "d";
    layer.name_hint = c.node().input(1);
    layer.tensors.push_back({"weight", *c.constant(1), c.node().input(1)});
    layer.tensors.push_back({"bias", *c.constant(2), c.node().input(2)});
    layer.float_attributes = {{"eps", eps}};
    layer.forward_source =
        "def forward(self, input: Tensor) -> Tensor:\n"
        "    return torch.instance_norm(input, self.weight, self.bias, None, None, True, 0.1, self.eps, False)\n";
    c.assign(0, fmt::format("{}({})", c.add_layer(std::move(layer)), c.input(0)));
    return;
  }
  c.assign(0, fmt::format("torch.instance_norm({}, {}, {}, None, None, True, 0.1, {}, False)", c.input(0), c.input(1),
                          c.input(2), float_literal(eps)));
}

// The formula itself, for what the layer form cannot express: the Mean/InvStdDev outputs, or a
// scale that broadcasts instead of spanning the normalized dims.
void layer_norm_formula(NodeContext& c, int64_t axis, double eps) {
  auto x = c.input(0);
  auto dims = c.temp(), mean = c.temp(), inv_std = c.temp();
  c.emit(fmt::format("{} = list(range({} if {} >= 0 else {} + {}.dim(), {}.dim()))", dims, axis, axis, axis, x, x));
  c.emit(fmt::format("{} = torch.mean({}, {}, True)", mean, x, dims));
  c.emit(fmt::format("{0} = torch.rsqrt(torch.add(torch.mean(torch.square(torch.sub({1}, {2})), {3}, True), {4}))", inv_std,
                     x, mean, dims, float_literal(eps)));
  auto y = fmt::format("torch.mul(torch.mul(torch.sub({}, {}), {}), {})", x, mean, inv_std, c.input(1));
  if (c.has_input(2)) y = fmt::format("torch.add({}, {})", y, c.input(2));
  c.assign(0, y);
  if (c.output_used(1)) c.assign(1, mean);
  if (c.output_used(2)) c.assign(2, inv_std);
}

void convert_layer_norm(NodeContext& c) {
  double eps = c.attr_float("epsilon", 1e-5);
  auto axis = c.attr_int("axis", -1);
  auto* scale = c.constant(1);
  auto* bias = c.constant(2);
  auto rank = c.input_rank(0);
  // torch normalizes over the trailing dims that the scale spans; ONNX over dims [axis, rank).
  std::optional<std::vector<int64_t>> shape;
  if (scale && rank) {
    auto first = normalize_axis(c, axis, *rank);
    if (scale->dim() == *rank - first) shape = scale->sizes().vec();
  } else if (scale && axis < 0 && scale->dim() == -axis) {
    shape = scale->sizes().vec();
  }
  bool statistics_used = c.output_used(1) || c.output_used(2);
  if (!shape || statistics_used || c.input_elem_type(0) != onnx::TensorProto::FLOAT) {
    layer_norm_formula(c, axis, eps);
    return;
  }
  if (bias || !c.has_input(2)) {
    LayerSpec layer;
    layer.type_name = "torch.nn.modules.normalization.LayerNorm";
    layer.name_hint = c.node().input(1);
    layer.tensors.push_back({"weight", *scale, c.node().input(1)});
    layer.tensors.push_back({"bias", bias ? *bias : at::Tensor(), bias ? c.node().input(2) : ""});
    layer.float_attributes = {{"eps", eps}};
    layer.forward_source = fmt::format(
        "def forward(self, input: Tensor) -> Tensor:\n"
        "    return torch.layer_norm(input, {}, self.weight, self.bias, self.eps, False)\n",
        int_list_literal(*shape));
    c.assign(0, fmt::format("{}({})", c.add_layer(std::move(layer)), c.input(0)));
    return;
  }
  c.assign(0, fmt::format("torch.layer_norm({}, {}, {}, {}, {}, False)", c.input(0), int_list_literal(*shape), c.input(1),
                          c.input(2), float_literal(eps)));
}

// GroupNormalization: opset 18 scales and shifts per group, opset 21 per channel (aten::group_norm's
// weight and bias are per channel, so 18's are repeated over each group's channels).
void convert_group_norm(NodeContext& c) {
  const auto groups = c.attr_int("num_groups", 0);
  c.require(groups > 0, "GroupNormalization without num_groups");
  c.require(c.attr_int("stash_type", 1) == 1, "GroupNormalization with a stash_type other than float");
  auto x = c.input(0), scale = c.input(1), bias = c.input(2);
  if (c.opset() < 21) {
    scale = fmt::format("torch.repeat_interleave({}, {}.size(1) // {})", scale, x, groups);
    bias = fmt::format("torch.repeat_interleave({}, {}.size(1) // {})", bias, x, groups);
  }
  c.assign(0, fmt::format("torch.group_norm({}, {}, {}, {}, {}, False)", x, groups, scale, bias,
                          float_literal(c.attr_float("epsilon", 1e-5))));
}

void convert_lrn(NodeContext& c) {
  c.assign(0, fmt::format("{}({}, {}, {}, {}, {})", c.helper("_lrn"), c.input(0), c.attr_int("size", 1),
                          float_literal(c.attr_float("alpha", 1e-4)), float_literal(c.attr_float("beta", 0.75)),
                          float_literal(c.attr_float("bias", 1.0))));
}

void convert_lp_norm(NodeContext& c) {
  auto p = c.attr_int("p", 2);
  c.require(p == 1 || p == 2, "LpNormalization with p other than 1 or 2");
  c.assign(0, fmt::format("torch.div({0}, torch.linalg.vector_norm({0}, {1}, [{2}], True))", c.input(0), p,
                          c.attr_int("axis", -1)));
}

// MeanVarianceNormalization, as its ONNX function body: (x - E[x]) / (sqrt(E[x^2] - E[x]^2) + 1e-9).
void convert_mvn(NodeContext& c) {
  auto x = c.input(0);
  auto axes = int_list_literal(c.attr_ints("axes").value_or(std::vector<int64_t>{0, 2, 3}));
  auto mean = c.temp(), variance = c.temp();
  c.emit(fmt::format("{} = torch.mean({}, {}, True)", mean, x, axes));
  c.emit(fmt::format("{} = torch.sub(torch.mean(torch.pow({}, 2.0), {}, True), torch.pow({}, 2.0))", variance, x, axes, mean));
  c.assign(0, fmt::format("torch.div(torch.sub({}, {}), torch.add(torch.sqrt({}), 1e-9))", x, mean, variance));
}

}  // namespace

std::vector<ConverterEntry> normalization_converters() {
  return {
      {"", "BatchNormalization", 6, kMaxOpset, convert_batch_norm},
      {"", "InstanceNormalization", 6, kMaxOpset, convert_instance_norm},
      {"", "LayerNormalization", 17, kMaxOpset, convert_layer_norm},
      {"", "GroupNormalization", 18, kMaxOpset, convert_group_norm},
      {"", "LRN", 1, kMaxOpset, convert_lrn},
      {"", "LpNormalization", 1, kMaxOpset, convert_lp_norm},
      {"", "MeanVarianceNormalization", 9, kMaxOpset, convert_mvn},
  };
}

}  // namespace mopt::onnx_import
