#pragma once
// Padding of sliding-window ops (Conv, MaxPool, AveragePool): ONNX's `pads`/`auto_pad` attributes
// resolved to explicit [begins..., ends...] per spatial dim, and split into what torch's kernels
// take (symmetric padding) plus an explicit pad applied first when they cannot take it.
#include <vector>

#include "lib/onnx/import/node_context.h"

namespace mopt::onnx_import {

/// The node's pads for `kernel` with its strides and dilations; auto_pad SAME is resolved from the
/// input's static spatial dims (stride 1 needs none), VALID means no padding.
std::vector<int64_t> resolve_pads(NodeContext& c, const std::vector<int64_t>& kernel, const std::vector<int64_t>& strides,
                                  const std::vector<int64_t>& dilations);

/// Torch-ready padding: `symmetric` per spatial dim when `fits` allows it, else zeros and
/// `extra` = pads for every dim of the input ([0, 0, b1.., 0, 0, e1..]) to apply with _pad first.
struct SplitPadding {
  std::vector<int64_t> symmetric, extra;
};
SplitPadding split_padding(const std::vector<int64_t>& pads, bool fits);

/// True when pads are the same at both ends of every spatial dim.
bool is_symmetric(const std::vector<int64_t>& pads);

}  // namespace mopt::onnx_import
