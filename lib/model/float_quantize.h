#pragma once
// Quantize ops of mopt's INT8 graphs. Files made on LibTorch 1.13 quantize their input with fp32 ops
// (1.13 had no FBGEMM and its quantize_per_tensor rounded one element at a time: 0.52 ms for a
// 1x3x224x224 image); LibTorch 2.x's FBGEMM quantize_per_tensor is ten times faster than those ops
// (scripts/bench/quantize_per_tensor_cost.py), so new files use it and only the exporter still reads
// the old form. Quantized concatenations are put on LibTorch's fast path.
#include <torch/csrc/jit/ir/ir.h>

#include <cstdint>

namespace mopt {

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
///     aten::quantize_per_tensor (the same bytes).
/// Assumes quint8 activations, as mopt's static quantizer makes.
QuantizedCatRewrites rewrite_quantized_cats(torch::jit::Graph& graph);

/// Rewrites the fp32-op quantize of files made on LibTorch 1.13, aten::_make_per_tensor_quantized_tensor(
/// to_uint8(clamp_(add_(round_(x * inv), zero_point), 0, 255)), scale, zero_point), back into
/// aten::quantize_per_tensor, for readers that expect it (the ONNX exporter maps it to QuantizeLinear).
/// Returns the number restored.
int64_t restore_quantize_per_tensor(torch::jit::Graph& graph);

}  // namespace mopt
