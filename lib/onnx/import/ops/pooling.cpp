// MaxPool, AveragePool, GlobalAveragePool, GlobalMaxPool, LpPool-free. ONNX pads may be
// asymmetric or larger than torch allows (half the kernel); those are applied as an explicit pad
// first (-inf for max, zeros for average with count_include_pad).
#include <fmt/format.h>

#include "lib/onnx/import/converter_table.h"
#include "lib/onnx/import/ops/window_padding.h"

namespace mopt::onnx_import {
namespace {

struct PoolGeometry {
  std::vector<int64_t> kernel, strides, dilations;
  SplitPadding padding;
  bool ceil_mode = false;
};

PoolGeometry pool_geometry(NodeContext& c) {
  PoolGeometry g;
  g.kernel = c.attr_ints("kernel_shape").value_or(std::vector<int64_t>{});
  auto spatial = static_cast<int64_t>(g.kernel.size());
  c.require(spatial >= 1 && spatial <= 3, "pooling without a 1-3 dim kernel_shape");
  g.strides = c.attr_ints("strides").value_or(std::vector<int64_t>(spatial, 1));
  g.dilations = c.attr_ints("dilations").value_or(std::vector<int64_t>(spatial, 1));
  g.ceil_mode = c.attr_int("ceil_mode", 0) != 0;
  auto pads = resolve_pads(c, g.kernel, g.strides, g.dilations);
  // torch's pooling takes symmetric padding of at most half the kernel.
  bool fits = is_symmetric(pads);
  for (int64_t i = 0; i < spatial; ++i) fits &= 2 * pads[i] <= g.kernel[i];
  g.padding = split_padding(pads, fits);
  return g;
}

void convert_max_pool(NodeContext& c) {
  const bool indices = c.output_used(1);
  c.require(!indices || c.attr_int("storage_order", 0) == 0, "MaxPool's Indices output with storage_order 1");
  auto g = pool_geometry(c);
  c.require(!indices || g.padding.extra.empty(), "MaxPool's Indices output with padding torch's pooling cannot take");
  auto x = c.input(0);
  // LibTorch's max-pool kernels are floating-point only; float64 holds every 8- and 32-bit integer.
  auto type = c.input_elem_type(0);
  const bool integral = type == onnx::TensorProto::UINT8 || type == onnx::TensorProto::INT8 ||
                        type == onnx::TensorProto::INT32;
  if (integral) x = fmt::format("{}.to({})", x, dtype_code(at::kDouble));
  if (!g.padding.extra.empty()) x = fmt::format("{}({}, {}, 'constant', float('-inf'))", c.helper("_pad"), x,
                                             int_list_literal(g.padding.extra));
  auto pooled = fmt::format("torch.max_pool{}d{}({}, {}, {}, {}, {}, {})", g.kernel.size(), indices ? "_with_indices" : "", x,
                            int_list_literal(g.kernel), int_list_literal(g.strides), int_list_literal(g.padding.symmetric),
                            int_list_literal(g.dilations), g.ceil_mode ? "True" : "False");
  if (indices) {
    // torch's indices count within each (n, c) plane of the input; ONNX's within the whole input.
    auto result = c.temp();
    c.emit(fmt::format("{} = {}", result, pooled));
    pooled = result + "[0]";
    auto in = c.input(0);
    c.assign(1, fmt::format("torch.add({0}[1], torch.mul(torch.arange({1}.size(0) * {1}.size(1), dtype={2}).reshape("
                            "[{1}.size(0), {1}.size(1)] + [1 for _ in range({3})]), {1}[0, 0].numel()))",
                            result, in, dtype_code(at::kLong), g.kernel.size()));
  }
  c.assign(0, integral ? fmt::format("{}.to({}.dtype)", pooled, c.input(0)) : pooled);
}

void convert_average_pool(NodeContext& c) {
  auto g = pool_geometry(c);
  bool count_include_pad = c.attr_int("count_include_pad", 0) != 0;
  for (auto d : g.dilations) c.require(d == 1, "AveragePool with dilations");
  auto x = c.input(0);
  auto spatial = g.kernel.size();
  if (!g.padding.extra.empty()) {
    x = fmt::format("{}({}, {}, 'constant', 0.0)", c.helper("_pad"), x, int_list_literal(g.padding.extra));
    if (!count_include_pad) {
      // Average over real elements only: window sums of x over window sums of a ones mask.
      auto ones = fmt::format("{}(torch.ones_like({}), {}, 'constant', 0.0)", c.helper("_pad"), c.input(0),
                              int_list_literal(g.padding.extra));
      auto pool = [&](const std::string& input) {
        return fmt::format("torch.avg_pool{}d({}, {}, {}, {}, {}, True)", spatial, input, int_list_literal(g.kernel),
                           int_list_literal(g.strides), int_list_literal(g.padding.symmetric), g.ceil_mode ? "True" : "False");
      };
      c.assign(0, fmt::format("torch.div({}, {})", pool(x), pool(ones)));
      return;
    }
  }
  if (spatial == 1) {
    c.assign(0, fmt::format("torch.avg_pool1d({}, {}, {}, {}, {}, {})", x, int_list_literal(g.kernel),
                            int_list_literal(g.strides), int_list_literal(g.padding.symmetric), g.ceil_mode ? "True" : "False",
                            count_include_pad ? "True" : "False"));
    return;
  }
  c.assign(0, fmt::format("torch.avg_pool{}d({}, {}, {}, {}, {}, {})", spatial, x, int_list_literal(g.kernel),
                          int_list_literal(g.strides), int_list_literal(g.padding.symmetric), g.ceil_mode ? "True" : "False",
                          count_include_pad ? "True" : "False"));
}

void convert_global_average_pool(NodeContext& c) {
  auto rank = c.input_rank(0);
  auto x = c.input(0);
  if (rank && *rank == 4) {
    c.assign(0, fmt::format("torch.adaptive_avg_pool2d({}, [1, 1])", x));  // as torchvision computes it
  } else {
    c.assign(0, fmt::format("torch.mean({0}, list(range(2, {0}.dim())), True)", x));
  }
}

void convert_global_max_pool(NodeContext& c) {
  c.assign(0, fmt::format("torch.amax({0}, list(range(2, {0}.dim())), True)", c.input(0)));
}

// MaxUnpool (2-D): values scattered to their MaxPool indices (ONNX's count over the whole output
// tensor, torch's within each (n, c) plane), zeros elsewhere. Output size:
// (in - 1) * stride + kernel - pad_begin - pad_end.
void convert_max_unpool(NodeContext& c) {
  auto kernel = c.attr_ints("kernel_shape").value_or(std::vector<int64_t>{});
  c.require(kernel.size() == 2, "MaxUnpool other than 2-D");
  auto strides = c.attr_ints("strides").value_or(std::vector<int64_t>(2, 1));
  auto pads = c.attr_ints("pads").value_or(std::vector<int64_t>(4, 0));
  auto x = c.input(0), indices = c.input(1);
  // With output_shape the spec leaves open where indices of the smaller default output land (the
  // conformance data keeps their (h, w), not their flat offset): refused rather than guessed.
  c.require(!c.has_input(2), "MaxUnpool with an output_shape input");
  std::vector<std::string> dims;
  for (int i = 0; i < 2; ++i) {
    dims.push_back(fmt::format("({}.size({}) - 1) * {} + {}", x, i + 2, strides[i], kernel[i] - pads[i] - pads[i + 2]));
  }
  auto size = fmt::format("[{}]", fmt::join(dims, ", "));
  auto out_size = c.temp();
  c.emit(fmt::format("{} = {}", out_size, size));
  auto plane = fmt::format("torch.mul(torch.arange({0}.size(0) * {0}.size(1), dtype={1}).reshape([{0}.size(0), {0}.size(1), 1, 1]), "
                           "{2}[0] * {2}[1])",
                           x, dtype_code(at::kLong), out_size);
  c.assign(0, fmt::format("torch.max_unpool2d({}, torch.sub({}, {}), {})", x, indices, plane, out_size));
}

}  // namespace

std::vector<ConverterEntry> pooling_converters() {
  return {
      {"", "MaxPool", 1, kMaxOpset, convert_max_pool},
      {"", "AveragePool", 1, kMaxOpset, convert_average_pool},
      {"", "GlobalAveragePool", 1, kMaxOpset, convert_global_average_pool},
      {"", "GlobalMaxPool", 1, kMaxOpset, convert_global_max_pool},
      {"", "MaxUnpool", 9, kMaxOpset, convert_max_unpool},
  };
}

}  // namespace mopt::onnx_import
