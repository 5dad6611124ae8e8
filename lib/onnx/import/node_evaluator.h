#pragma once
// Evaluates one ONNX node on known inputs through the importer: the same converters that run whole
// models, so constant folding and execution share one implementation of every op's semantics.
#include <onnx/onnx_pb.h>
#include <torch/script.h>

#include <optional>
#include <vector>

namespace mopt {

/// The node's outputs computed from `inputs` (one per node input; an undefined tensor stands for an
/// omitted optional input) at `opset`, or nullopt when the importer cannot convert the node or the
/// computation fails. Never throws.
std::optional<std::vector<at::Tensor>> evaluate_onnx_node(const onnx::NodeProto& node,
                                                          const std::vector<at::Tensor>& inputs, int64_t opset);

}  // namespace mopt
