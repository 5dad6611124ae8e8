#pragma once
// Where an INT8 TorchScript model leaves the quantized domain: every aten::dequantize is a point
// where INT8 stops and fp32 ops run until the next quantize. These boundaries cost time (each is a
// full pass over the tensor), and they are why INT8 can be slower than fp32 (MobileNetV3's
// hardswish and squeeze-excite, ShuffleNet's channel shuffle). Counted on the saved model's graph.
#include <nlohmann/json.hpp>

#include "lib/model/model.h"

namespace mopt::quant {

/// {"quantize": n, "dequantize": n, "quantized_ops": n, "fp32_consumers": {"aten::hardswish": n, ...}}:
/// quantize/dequantize op counts in forward() (inlined), quantized::* compute ops, and the kinds of
/// ops that consume a dequantized tensor (what forced each boundary; the graph's outputs as "return").
nlohmann::json quantization_boundaries(const Model& model);

}  // namespace mopt::quant
