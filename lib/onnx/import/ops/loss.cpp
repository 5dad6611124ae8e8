// NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss on aten::nll_loss_nd, which has ONNX's
// semantics: input [N, C, d1...], target [N, d1...], optional per-class weight [C]; targets equal
// to ignore_index contribute 0 and are left out of the mean's denominator; 'mean' divides by the
// sum of the weights of the counted targets (their number without weights). torch checks
// ignore_index before the class range, so a negative or out-of-range ignore_index works as in ONNX.
#include <fmt/format.h>

#include "lib/onnx/import/converter_table.h"

namespace mopt::onnx_import {
namespace {

// aten::Reduction: 0 none, 1 mean, 2 sum.
int reduction_code(NodeContext& c) {
  auto reduction = c.attr_string("reduction", "mean");
  if (reduction == "none") return 0;
  if (reduction == "mean") return 1;
  c.require(reduction == "sum", "loss reduction " + reduction);
  return 2;
}

std::string nll(NodeContext& c, const std::string& log_prob) {
  auto weight = c.has_input(2) ? c.input(2) : "None";
  auto ignore_index = c.attribute("ignore_index") ? c.attr_int("ignore_index", 0) : int64_t{-100};
  // Without an ignore_index attribute nothing is ignored: torch's default -100 is no valid class.
  return fmt::format("torch.nll_loss_nd({}, {}.to({}), {}, {}, {})", log_prob, c.input(1), dtype_code(at::kLong), weight,
                     reduction_code(c), ignore_index);
}

void convert_nll_loss(NodeContext& c) { c.assign(0, nll(c, c.input(0))); }

void convert_softmax_cross_entropy(NodeContext& c) {
  auto log_prob = c.temp();
  c.emit(fmt::format("{} = torch.log_softmax({}, 1)", log_prob, c.input(0)));
  c.assign(0, nll(c, log_prob));
  if (c.output_used(1)) c.assign(1, log_prob);
}

}  // namespace

std::vector<ConverterEntry> loss_converters() {
  return {
      {"", "NegativeLogLikelihoodLoss", 12, kMaxOpset, convert_nll_loss},
      {"", "SoftmaxCrossEntropyLoss", 12, kMaxOpset, convert_softmax_cross_entropy},
  };
}

}  // namespace mopt::onnx_import
