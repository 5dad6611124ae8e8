#pragma once
// How wide mopt's int8 weights for ONNX Runtime are. On x86 CPUs without VNNI ORT's uint8 x int8
// kernels saturate (lib/measure/cpu_info.h, int8_kernels_saturate): there, 7-bit weights (ORT's
// "reduce_range") keep the file accurate. The trained Fashion-MNIST CNN on such a host: output SQNR
// 22.0 dB with 8-bit weights, 37.9 dB with 7 bits (docs/benchmarks.md).
#include <cstdint>
#include <string>

namespace mopt::onnx_quant {

/// The largest magnitude of a symmetric int8 weight: 63 (7 bits) or 127. `reduce_range` is "on",
/// "off" or "auto" (7 bits where this host's int8 kernels saturate); anything else is a usage_error.
int64_t int8_weight_limit(const std::string& reduce_range);

/// The line the quantizers log when the limit is 7 bits.
const char* const kSevenBitWeightsNote =
    "int8 weights in 7 bits (--reduce-range): ONNX Runtime's int8 kernels saturate 8-bit weights on x86 CPUs "
    "without VNNI";

}  // namespace mopt::onnx_quant
