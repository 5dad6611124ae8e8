#include "passes/quantize/onnx/int8_weights.h"

#include <fmt/format.h>

#include "lib/errors.h"
#include "lib/measure/cpu_info.h"

namespace mopt::onnx_quant {

int64_t int8_weight_limit(const std::string& reduce_range) {
  if (reduce_range == "on") return 63;
  if (reduce_range == "off") return 127;
  if (reduce_range == "auto") return int8_kernels_saturate() ? 63 : 127;
  throw usage_error(fmt::format("reduce-range is auto, on or off, not '{}'", reduce_range));
}

}  // namespace mopt::onnx_quant
