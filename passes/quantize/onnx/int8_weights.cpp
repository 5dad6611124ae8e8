#include "passes/quantize/onnx/int8_weights.h"

#include <fmt/format.h>

#include <algorithm>

#include "lib/errors.h"
#include "lib/measure/cpu_info.h"

namespace mopt::onnx_quant {

bool host_has_vnni() {
  const auto& features = cpu_info().features;
  return std::find(features.begin(), features.end(), "avx512_vnni") != features.end() ||
         std::find(features.begin(), features.end(), "avx_vnni") != features.end();
}

int64_t int8_weight_limit(const std::string& reduce_range) {
  if (reduce_range == "on") return 63;
  if (reduce_range == "off") return 127;
  if (reduce_range == "auto") return host_has_vnni() || cpu_info().architecture != "x86_64" ? 127 : 63;
  throw usage_error(fmt::format("reduce-range is auto, on or off, not '{}'", reduce_range));
}

}  // namespace mopt::onnx_quant
