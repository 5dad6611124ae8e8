#pragma once
// The INT8 model's input quantization computed with fp32 ops. Debian's LibTorch 1.13 is built
// without FBGEMM, and its aten::quantize_per_tensor then rounds one element at a time: 0.52 ms
// for a 1x3x224x224 image here, a sixth of MobileNetV2's INT8 call. Four vectorized fp32 ops and a
// cast take 0.15-0.2 ms of profiled op time and give the same bytes: quantize_per_tensor computes
// zero_point + nearbyint(x * (1.0f / float(scale))), clamped to [0, 255], which is what the ops do.
#include <torch/csrc/jit/ir/ir.h>

#include <cstdint>

namespace mopt {

/// Rewrites aten::quantize_per_tensor(x, scale, zero_point, torch.quint8) with constant parameters
/// as aten::_make_per_tensor_quantized_tensor(to_uint8(clamp_(add_(round_(x * inv), zero_point),
/// 0, 255)), scale, zero_point), inv = 1.0f / float(scale). Bit-identical outputs. Edits `graph` in
/// place; returns the number rewritten.
int64_t quantize_with_float_ops(torch::jit::Graph& graph);

/// Rewrites quantized::cat(xs, dim, scale, zero_point) of a list built in the graph, with constant
/// qparams, as what LibTorch computes for it unless every input is channels-last contiguous:
/// aten::cat of the dequantized inputs, then aten::quantize_per_tensor (for quantize_with_float_ops
/// to make fast; ShuffleNetV2 takes that path in 13 of its 16 concatenations). Assumes quint8
/// activations, as mopt's static quantizer makes. Returns the number rewritten.
int64_t dequantize_around_cat(torch::jit::Graph& graph);

/// The inverse of quantize_with_float_ops, for readers that expect quantize_per_tensor (the ONNX exporter maps it to
/// QuantizeLinear). Returns the number restored.
int64_t restore_quantize_per_tensor(torch::jit::Graph& graph);

}  // namespace mopt
