#pragma once
// Walking a TorchScript graph, and what kind of op a node name stands for.
#include <torch/csrc/jit/ir/ir.h>

#include <string>
#include <vector>

namespace mopt {

/// Every node of `block` and of the blocks nested in its nodes (prim::If branches, loop bodies),
/// each node before the nodes of its own blocks, in graph order.
std::vector<torch::jit::Node*> all_nodes(torch::jit::Block* block);

/// Whether `value` is a tensor (of any dtype or shape), not a scalar, list, tuple or None.
bool is_tensor(const torch::jit::Value* value);

/// Whether `node` is the op named `kind` ("prim::MKLDNNHardTanh_"), for ops without a c10 symbol.
bool is_kind(const torch::jit::Node* node, const char* kind);

/// prim::mkldnn_convolution, prim::MKLDNNHardSwish, ...: the oneDNN ops of a graph frozen for
/// inference. The interpreter runs them itself, past the dispatcher, so profilers never see them.
bool is_mkldnn_prim(const torch::jit::Node* node);

/// Whether an op converts to a quantized tensor: LibTorch's aten::quantize_per_tensor/_channel,
/// aten::_make_per_tensor_quantized_tensor (how mopt's INT8 files from LibTorch 1.13 quantize, see float_quantize.h),
/// or ONNX's QuantizeLinear.
bool is_quantize_op(const std::string& op);

/// Whether an op converts to or from a quantized tensor: is_quantize_op, or LibTorch's
/// aten::dequantize / ONNX's DequantizeLinear.
bool is_quantize_boundary(const std::string& op);

}  // namespace mopt
