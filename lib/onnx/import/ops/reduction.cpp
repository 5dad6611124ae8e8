// Reduce* ops. Axes come from the attribute (or, for ReduceSum from opset 13, an input); no axes
// means every dim, unless noop_with_empty_axes says to pass the input through.
#include <fmt/format.h>

#include "lib/onnx/import/converter_table.h"

namespace mopt::onnx_import {
namespace {

enum class Reduce { kMean, kSum, kMax, kMin, kProd, kL1, kL2, kLogSumExp, kSumSquare, kLogSum };

template <Reduce kKind>
void convert_reduce(NodeContext& c) {
  auto x = c.input(0);
  bool keepdims = c.attr_int("keepdims", 1) != 0;
  std::string dims;
  bool axes_as_input = kKind == Reduce::kSum && c.opset() >= 13;
  if (axes_as_input && c.has_input(1)) {
    auto known = c.constant_ints(1);
    dims = known ? int_list_literal(*known) : c.int_list_input(1);
    if (known && known->empty()) dims.clear();
  } else if (!axes_as_input) {
    if (auto axes = c.attr_ints("axes")) dims = int_list_literal(*axes);
  }
  if (dims.empty()) {
    if (c.attr_int("noop_with_empty_axes", 0)) {
      c.assign(0, x);
      return;
    }
    dims = fmt::format("list(range({}.dim()))", x);
  }
  auto keep = keepdims ? "True" : "False";
  std::string expression;
  switch (kKind) {
    case Reduce::kMean: expression = fmt::format("torch.mean({}, {}, {})", x, dims, keep); break;
    case Reduce::kSum: expression = fmt::format("torch.sum({}, {}, {})", x, dims, keep); break;
    case Reduce::kMax: expression = fmt::format("torch.amax({}, {}, {})", x, dims, keep); break;
    case Reduce::kMin: expression = fmt::format("torch.amin({}, {}, {})", x, dims, keep); break;
    case Reduce::kProd: {
      // torch.prod reduces one dim at a time: flatten the reduced dims to the end first.
      auto result = c.temp();
      c.emit(fmt::format("{} = {}", result, x));
      auto axes = c.temp();
      c.emit(fmt::format("{} = [a if a >= 0 else a + {}.dim() for a in {}]", axes, x, dims));
      c.emit(fmt::format("for a in sorted({}, reverse=True):", axes));
      c.emit(fmt::format("    {0} = torch.prod({0}, a, {1})", result, keep));
      expression = result;
      break;
    }
    case Reduce::kL1: expression = fmt::format("torch.sum(torch.abs({}), {}, {})", x, dims, keep); break;
    case Reduce::kL2: expression = fmt::format("torch.sqrt(torch.sum(torch.mul({0}, {0}), {1}, {2}))", x, dims, keep); break;
    case Reduce::kLogSumExp: expression = fmt::format("torch.logsumexp({}, {}, {})", x, dims, keep); break;
    case Reduce::kSumSquare: expression = fmt::format("torch.sum(torch.mul({0}, {0}), {1}, {2})", x, dims, keep); break;
    case Reduce::kLogSum: expression = fmt::format("torch.log(torch.sum({}, {}, {}))", x, dims, keep); break;
  }
  if (kKind == Reduce::kSum || kKind == Reduce::kSumSquare || kKind == Reduce::kL1) {
    expression = fmt::format("{}.to({}.dtype)", expression, x);  // torch sums ints into int64; ONNX keeps the type
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
