#pragma once
// Evaluates single ONNX nodes with LibTorch, for constant folding. Covers the common elementwise
// and shape ops; anything else (or any input it cannot honour exactly) reports "not evaluable".
#include <onnx/onnx_pb.h>
#include <torch/script.h>

#include <optional>
#include <string>
#include <vector>

namespace mopt {

/// True when evaluate_onnx_node() knows the op (default domain only).
bool is_evaluable_op(const onnx::NodeProto& node);

/// The node's outputs computed from `inputs` (one per node input; an undefined tensor stands for an
/// omitted optional input), or nullopt when the op, its attributes or its dtypes are unsupported or
/// the computation fails. Never throws.
std::optional<std::vector<at::Tensor>> evaluate_onnx_node(const onnx::NodeProto& node,
                                                          const std::vector<at::Tensor>& inputs);

}  // namespace mopt
