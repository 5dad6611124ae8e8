#pragma once
// DenseNet's dense block builds a list and reads it between appends:
//   features = [x]; for layer in block: features.append(layer(torch.cat(features, 1)))
// LibTorch's RemoveListMutation cannot fold those appends into the construction (the reads
// before each append would then see it), and ONNX has no list mutation. This gives each read the
// list as it is at that point instead.
#include <torch/csrc/jit/ir/ir.h>

#include <cstdint>

namespace mopt::onnx_export {

/// For each prim::ListConstruct whose uses, all in its own block, are appends and reads (cat,
/// stack, len, indexing): every read gets a new ListConstruct of the elements appended so far, and
/// the appends go. Lists used in any other way (a loop, a branch, a call, an op that may mutate
/// them) are left alone. Returns the number of lists rewritten.
int64_t materialize_appended_lists(torch::jit::Graph& graph);

}  // namespace mopt::onnx_export
