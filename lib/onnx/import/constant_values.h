#pragma once
// The tensors an ONNX graph fixes at load time: initializers and the outputs of Constant nodes
// (paddle2onnx and others store weights in Constant nodes; they are weights all the same).
#include <onnx/onnx_pb.h>
#include <torch/script.h>

#include <string>
#include <unordered_map>

namespace mopt::onnx_import {

/// Every initializer, Constant-node output and Identity of those, by value name. Throws invalid_input naming the
/// tensor when its data does not match its dims or its type is one LibTorch cannot hold.
std::unordered_map<std::string, at::Tensor> constant_values(const onnx::GraphProto& graph);

/// The value of one Constant node (any of its value* attributes).
at::Tensor constant_node_value(const onnx::NodeProto& node);

}  // namespace mopt::onnx_import
