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

/// How rewrite_quantized_cats() rewrote each concatenation.
struct QuantizedCatRewrites {
  int64_t channels_last = 0;  ///< inputs made channels-last contiguous: LibTorch's fast path
  int64_t dequantized = 0;    ///< written out as dequantize, fp32 cat, quantize
};

/// LibTorch's quantized::cat(xs, dim, scale, zero_point) requantizes 4-D inputs directly only when
/// every one is channels-last contiguous and dim is 1. Otherwise it dequantizes them, concatenates
/// in fp32 and calls the slow quantize_per_tensor (ShuffleNetV2: 13 of 16 concatenations, whose
/// channel halves are strided views). For each quantized::cat of a list built in the graph, with
/// constant qparams:
///   - dim 1 and every input known to be 4-D (see RankReader in the .cpp): each input becomes
///     aten::contiguous(x, memory_format=channels_last), a copy of uint8 or nothing when it already
///     is, so the fast path runs (within one step of the slow path's bytes);
///   - otherwise: the slow path written out in the graph, aten::cat of the dequantized inputs, then
///     aten::quantize_per_tensor, for quantize_with_float_ops to make fast (the same bytes).
/// Assumes quint8 activations, as mopt's static quantizer makes.
QuantizedCatRewrites rewrite_quantized_cats(torch::jit::Graph& graph);

/// The inverse of quantize_with_float_ops, for readers that expect quantize_per_tensor (the ONNX exporter maps it to
/// QuantizeLinear). Returns the number restored.
int64_t restore_quantize_per_tensor(torch::jit::Graph& graph);

}  // namespace mopt
