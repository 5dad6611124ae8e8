#include "lib/onnx/import/ops/window_padding.h"

#include <algorithm>

namespace mopt::onnx_import {

std::vector<int64_t> resolve_pads(NodeContext& c, const std::vector<int64_t>& kernel, const std::vector<int64_t>& strides,
                                  const std::vector<int64_t>& dilations) {
  const auto spatial = static_cast<int64_t>(kernel.size());
  auto pads = c.attr_ints("pads").value_or(std::vector<int64_t>(2 * spatial, 0));
  c.require(static_cast<int64_t>(strides.size()) == spatial && static_cast<int64_t>(dilations.size()) == spatial &&
                static_cast<int64_t>(pads.size()) == 2 * spatial,
            "strides/dilations/pads whose length does not match the kernel");
  auto auto_pad = c.attr_string("auto_pad", "NOTSET");
  if (auto_pad == "VALID") return std::vector<int64_t>(2 * spatial, 0);
  if (auto_pad == "NOTSET") return pads;
  c.require(auto_pad == "SAME_UPPER" || auto_pad == "SAME_LOWER", "auto_pad " + auto_pad);
  // SAME: output = ceil(input / stride); the total padding that needs splits with the odd one at
  // the end (UPPER) or the beginning (LOWER).
  auto dims = c.input_dims(0);
  for (int64_t i = 0; i < spatial; ++i) {
    int64_t effective = (kernel[i] - 1) * dilations[i] + 1;
    int64_t total;
    if (strides[i] == 1) {
      total = effective - 1;
    } else {
      c.require(dims && (*dims)[2 + i] > 0, "auto_pad SAME with stride > 1 on a dynamic spatial size");
      int64_t in = (*dims)[2 + i];
      int64_t out = (in + strides[i] - 1) / strides[i];
      total = std::max<int64_t>(0, (out - 1) * strides[i] + effective - in);
    }
    int64_t small = total / 2, large = total - small;
    pads[i] = auto_pad == "SAME_UPPER" ? small : large;
    pads[i + spatial] = auto_pad == "SAME_UPPER" ? large : small;
  }
  return pads;
}

bool is_symmetric(const std::vector<int64_t>& pads) {
  const size_t spatial = pads.size() / 2;
  for (size_t i = 0; i < spatial; ++i) {
    if (pads[i] != pads[i + spatial]) return false;
  }
  return true;
}

SplitPadding split_padding(const std::vector<int64_t>& pads, bool fits) {
  const size_t spatial = pads.size() / 2;
  SplitPadding split;
  if (fits) {
    split.symmetric.assign(pads.begin(), pads.begin() + static_cast<int64_t>(spatial));
    return split;
  }
  split.symmetric.assign(spatial, 0);
  split.extra.assign(2 * (spatial + 2), 0);
  for (size_t i = 0; i < spatial; ++i) {
    split.extra[2 + i] = pads[i];
    split.extra[spatial + 2 + 2 + i] = pads[i + spatial];
  }
  return split;
}

}  // namespace mopt::onnx_import
