#pragma once
// Where a graph after ConvertFrozenOpsToMKLDNN leaves oneDNN tensors: leave once, and only when needed.
#include <torch/script.h>

namespace mopt {

/// A ReLU6-style clamp (prim::MKLDNNHardTanh_) whose result is only converted to a dense tensor,
/// directly or after a global pool (MobileNetV2's last activation): clamps and pools the dense copy
/// instead. LibTorch's form cannot be saved, and as a file it costs a dense round trip, a oneDNN
/// pool and a second dense copy. Returns the clamps rewritten.
int64_t clamp_where_graph_leaves_onednn(torch::jit::Graph& graph);

/// aten::size / aten::dim of aten::to_dense(x) read x's sizes instead: optimize_for_inference
/// copies a whole feature map only to check its rank. Returns the reads redirected.
int64_t read_sizes_without_dense_copy(torch::jit::Graph& graph);

}  // namespace mopt
