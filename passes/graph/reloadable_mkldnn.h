#pragma once
// Makes a module after LibTorch's ConvertFrozenOpsToMKLDNN saveable and loadable again.
#include <torch/script.h>

namespace mopt {

/// Rewrites what LibTorch 1.13 cannot serialize into TorchScript it can:
/// - each prim::ConstantMKLDNNTensor (an opaque oneDNN weight baked into the graph) becomes a
///   module attribute read by prim::GetAttr; __getstate__ saves its dense copy and __setstate__
///   converts (and, for conv weights, reorders) it back once, when the file is loaded;
/// - prim::BroadcastMKLDNNTensors goes where its operands provably have one shape (residual adds,
///   see onednn_shapes.h); elsewhere it becomes a method that broadcasts through dense tensors only
///   when the shapes differ (both operands come back in one plain layout: expanding only the
///   small one, as LibTorch's own op does, made MobileNetV3-small 3-5x slower as a file);
/// - prim::MKLDNNHardTanh(_) (ReLU6) between convolutions becomes an in-place oneDNN hardsigmoid
///   with the shift and scale folded into the convolutions' constants; any other hardtanh
///   becomes a method that clamps through a dense tensor;
/// - prim::MKLDNNHardSwish_ / MKLDNNHardSigmoid_ on channels that oneDNN may pad to its block
///   (not a conv output of a multiple of 16 channels) go through a dense tensor too: LibTorch
///   1.13 computes them wrongly on padded buffers.
/// Returns the number of nodes rewritten. Nodes it does not know stay; Model::save then refuses
/// the artifact if it still cannot be reloaded.
int64_t make_mkldnn_reloadable(torch::jit::Module& frozen_module);

}  // namespace mopt
