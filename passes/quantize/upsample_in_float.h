#pragma once
// Segmentation models end by resizing their class scores to the input's size
// (F.interpolate(x, size=input.shape[-2:], mode="bilinear")). LibTorch's INT8 chain runs that
// resize on the quantized tensor and dequantizes the result: LRASPP-MobileNetV3 spent 7.7 of its
// 12.3 ms there (quantized bilinear 1x21x28x28 -> 224x224: 5.0 ms, the dequantize of the 64x larger
// result: 1.5 ms), which left its INT8 file no faster than fp32. Dequantizing first and resizing in
// fp32 costs 1.5 ms and rounds nothing.
#include <torch/csrc/jit/ir/ir.h>

#include <cstdint>

namespace mopt::quant {

/// Rewrites dequantize(upsample_bilinear2d(x, ...)), where the resize's result has no other use,
/// into upsample_bilinear2d(dequantize(x), ...), also where the resize is returned by a branch whose
/// other blocks raise (F.interpolate's dispatch on the input's rank). Returns the number of resizes
/// moved to fp32.
int64_t upsample_bilinear_in_float(torch::jit::Graph& graph);

}  // namespace mopt::quant
