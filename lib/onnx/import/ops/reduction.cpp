// Reduce* ops. Axes come from the attribute, or an input (ReduceSum from opset 13, the others from 18); no axes
// means every dim, unless noop_with_empty_axes says to pass the input through.
#include <fmt/format.h>

#include <algorithm>

#include "lib/onnx/import/converter_table.h"

namespace mopt::onnx_import {
namespace {

enum class Reduce { kMean, kSum, kMax, kMin, kProd, kL1, kL2, kLogSumExp, kSumSquare, kLogSum };

// Whether the input may hold an empty dim to reduce over (a 0 or symbolic dim, or an unknown shape):
// LibTorch's amax/amin refuse an empty set, where ONNX (18+) reduces it to the type's lowest/highest value.
bool may_be_empty(NodeContext& c) {
  const auto dims = c.input_dims(0);
  return !dims || std::any_of(dims->begin(), dims->end(), [](int64_t d) { return d <= 0; });
}

template <Reduce kKind>
void convert_reduce(NodeContext& c) {
  auto x = c.input(0);
  bool keepdims = c.attr_int("keepdims", 1) != 0;
  std::string dims;
  bool axes_as_input = c.opset() >= (kKind == Reduce::kSum ? 13 : 18);
  bool noop_when_empty = c.attr_int("noop_with_empty_axes", 0) != 0;
  std::string runtime_dims;  // a local holding axes known only at run time
  if (axes_as_input && c.has_input(1)) {
    if (auto known = c.constant_ints(1)) {
      if (!known->empty()) dims = int_list_literal(*known);
    } else {
      runtime_dims = c.temp();
      c.emit(fmt::format("{} = {}", runtime_dims, c.int_list_input(1)));
      dims = runtime_dims;
    }
  } else if (!axes_as_input) {
    if (auto axes = c.attr_ints("axes")) dims = int_list_literal(*axes);
  }
  if (dims.empty()) {
    if (noop_when_empty) {
      c.assign(0, x);
      return;
    }
    dims = fmt::format("list(range({}.dim()))", x);
  }
  if (!runtime_dims.empty() && !noop_when_empty) {
    c.emit(fmt::format("if len({}) == 0:", runtime_dims));
    c.emit(fmt::format("    {} = list(range({}.dim()))", runtime_dims, x));
  }
  auto keep = keepdims ? "True" : "False";
  std::string expression;
  switch (kKind) {
    case Reduce::kMean: expression = fmt::format("torch.mean({}, {}, {})", x, dims, keep); break;
    case Reduce::kSum: expression = fmt::format("torch.sum({}, {}, {})", x, dims, keep); break;
    case Reduce::kMax:
    case Reduce::kMin:
      if (c.opset() >= 18 && may_be_empty(c)) {  // opset 18 defines the empty set's result
        expression = fmt::format("{}({}, {}, {}, {})", c.helper("_reduce_extreme"), x, dims, keep,
                                 kKind == Reduce::kMax ? "True" : "False");
      } else {
        expression = fmt::format("torch.{}({}, {}, {})", kKind == Reduce::kMax ? "amax" : "amin", x, dims, keep);
      }
      break;
    case Reduce::kProd: expression = fmt::format("{}({}, {}, {})", c.helper("_prod"), x, dims, keep); break;
    case Reduce::kL1: expression = fmt::format("torch.sum(torch.abs({}), {}, {})", x, dims, keep); break;
    case Reduce::kL2: expression = fmt::format("torch.sqrt(torch.sum(torch.mul({0}, {0}), {1}, {2}))", x, dims, keep); break;
    case Reduce::kLogSumExp: expression = fmt::format("torch.logsumexp({}, {}, {})", x, dims, keep); break;
    case Reduce::kSumSquare: expression = fmt::format("torch.sum(torch.mul({0}, {0}), {1}, {2})", x, dims, keep); break;
    case Reduce::kLogSum: expression = fmt::format("torch.log(torch.sum({}, {}, {}))", x, dims, keep); break;
  }
  if (kKind == Reduce::kSum || kKind == Reduce::kSumSquare || kKind == Reduce::kL1) {
    expression = fmt::format("{}.to({}.dtype)", expression, x);  // torch sums ints into int64; ONNX keeps the type
  }
  if (!runtime_dims.empty() && noop_when_empty) {
    // Empty run-time axes pass the input through.
    auto output = c.output(0);
    c.emit(fmt::format("if len({}) == 0:", runtime_dims));
    c.emit(fmt::format("    {} = {}", output, x));
    c.emit("else:");
    c.emit(fmt::format("    {} = {}", output, expression));
    return;
  }
  c.assign(0, expression);
}

}  // namespace

std::vector<ConverterEntry> reduction_converters() {
  return {
      {"", "ReduceMean", 1, kMaxOpset, convert_reduce<Reduce::kMean>},
      {"", "ReduceSum", 1, kMaxOpset, convert_reduce<Reduce::kSum>},
      {"", "ReduceMax", 1, kMaxOpset, convert_reduce<Reduce::kMax>},
      {"", "ReduceMin", 1, kMaxOpset, convert_reduce<Reduce::kMin>},
      {"", "ReduceProd", 1, kMaxOpset, convert_reduce<Reduce::kProd>},
      {"", "ReduceL1", 1, kMaxOpset, convert_reduce<Reduce::kL1>},
      {"", "ReduceL2", 1, kMaxOpset, convert_reduce<Reduce::kL2>},
      {"", "ReduceLogSumExp", 1, kMaxOpset, convert_reduce<Reduce::kLogSumExp>},
      {"", "ReduceSumSquare", 1, kMaxOpset, convert_reduce<Reduce::kSumSquare>},
      {"", "ReduceLogSum", 1, kMaxOpset, convert_reduce<Reduce::kLogSum>},
  };
}

}  // namespace mopt::onnx_import
