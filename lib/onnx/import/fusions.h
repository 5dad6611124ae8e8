#pragma once
// Multi-node patterns that exporters write for one torch layer, imported as that layer again.
// Each fusion starts at the pattern's first node; it returns false (and emits nothing) when the
// graph does not match exactly, and the node's own converter runs instead.
#include "lib/onnx/import/node_context.h"

namespace mopt::onnx_import {

/// Tries every fusion for this node, in a fixed order; true when one took it (and its followers).
bool try_fusions(NodeContext& context);

// Pattern-matching helpers shared by the fusions (and the Conv converter's scale/shift folding).
/// True when `node` is the default-domain `op` with at least one output.
bool is_op(const onnx::NodeProto* node, const char* op);
/// The one node reading `value`, if it is `op`; nullptr otherwise (a graph output has no sole reader).
const onnx::NodeProto* only_reader(const NodeContext& context, const std::string& value, const char* op);
/// The input of a binary node that is not `value`.
const std::string& other_input(const onnx::NodeProto& node, const std::string& value);
/// The value of a one-element floating-point constant, if `value` is one.
std::optional<double> scalar_constant(const NodeContext& context, const std::string& value);

/// ReduceMean -> Sub -> Pow(2) -> ReduceMean -> Add(eps) -> Sqrt -> Div [-> Mul(scale) -> Add(bias)],
/// as torch.onnx exports LayerNorm below opset 17 -> one LayerNorm layer.
bool fuse_layer_norm(NodeContext& context);

/// Add(3) -> Clip(0, 6) -> Mul(x) -> Div(6), as paddle2onnx writes hardswish -> torch.hardswish.
bool fuse_hardswish(NodeContext& context);

}  // namespace mopt::onnx_import
