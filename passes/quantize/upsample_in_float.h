#pragma once
// Segmentation models end by resizing their class scores to the input's size
// (F.interpolate(x, size=input.shape[-2:], mode="bilinear")). LibTorch's INT8 chain runs that
// resize on the quantized tensor and dequantizes the 64x larger result: LRASPP-MobileNetV3's INT8
// file spent 7.7 of its 12.3 ms in its resizes and 1.5 in dequantizes (op profile; docs/quantization.md,
// Quantization), no faster than fp32. Dequantizing first and resizing in fp32 is cheaper and
// rounds nothing.
#include <torch/csrc/jit/ir/ir.h>

#include <cstdint>

namespace mopt::quant {

/// Rewrites dequantize(upsample_bilinear2d(x, ...)), where the resize's result has no other use,
/// into upsample_bilinear2d(dequantize(x), ...), also where the resize is returned by a branch whose
/// other blocks raise (F.interpolate's dispatch on the input's rank). Returns the number of resizes
/// moved to fp32.
int64_t upsample_bilinear_in_float(torch::jit::Graph& graph);

}  // namespace mopt::quant
