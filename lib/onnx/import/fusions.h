#pragma once
// Multi-node patterns that exporters write for one torch layer, imported as that layer again.
// Each fusion starts at the pattern's first node; it returns false (and emits nothing) when the
// graph does not match exactly, and the node's own converter runs instead.
#include "lib/onnx/import/node_context.h"

namespace mopt::onnx_import {

/// Tries every fusion for this node, in a fixed order; true when one took it (and its followers).
bool try_fusions(NodeContext& context);

/// ReduceMean -> Sub -> Pow(2) -> ReduceMean -> Add(eps) -> Sqrt -> Div [-> Mul(scale) -> Add(bias)],
/// as torch.onnx exports LayerNorm below opset 17 -> one LayerNorm layer.
bool fuse_layer_norm(NodeContext& context);

/// Add(3) -> Clip(0, 6) -> Mul(x) -> Div(6), as paddle2onnx writes hardswish -> torch.hardswish.
bool fuse_hardswish(NodeContext& context);

}  // namespace mopt::onnx_import
