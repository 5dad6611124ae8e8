#pragma once
// How wide mopt's int8 weights for ONNX Runtime are. On x86 CPUs without VNNI, ORT multiplies uint8
// activations by int8 weights with VPMADDUBSW, which sums each pair of products into int16 and
// saturates: 255 x 127 x 2 overflows, 255 x 63 x 2 does not. There, 7-bit weights (ORT's
// "reduce_range") keep the file accurate: measured on the Fashion-MNIST CNN, output SQNR 22 dB with
// 8-bit weights against 38 dB with 7 bits on such a host (docs/benchmarks.md).
#include <cstdint>
#include <string>

namespace mopt::onnx_quant {

/// The largest magnitude of a symmetric int8 weight: 63 (7 bits) or 127. `reduce_range` is "on",
/// "off" or "auto" (7 bits where this host's CPU has no VNNI); anything else is a usage_error.
int64_t int8_weight_limit(const std::string& reduce_range);

/// Whether the host CPU has VNNI (AVX512-VNNI or AVX-VNNI), where ORT's int8 kernels do not saturate.
bool host_has_vnni();

/// The line the quantizers log when `limit` is 7 bits.
const char* const kSevenBitWeightsNote =
    "int8 weights in 7 bits (--reduce-range): ONNX Runtime's int8 kernels saturate 8-bit weights on x86 CPUs "
    "without VNNI";

}  // namespace mopt::onnx_quant
