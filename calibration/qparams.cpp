#include "calibration/qparams.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "lib/errors.h"

namespace mopt {

QuantParams choose_qparams(Range range, int64_t qmin, int64_t qmax, bool symmetric, float min_scale) {
  if (qmin >= qmax) throw usage_error(fmt::format("quantized range [{}, {}] is empty; need qmin < qmax", qmin, qmax));
  if (!std::isfinite(range.min) || !std::isfinite(range.max)) {
    throw runtime_failure(fmt::format("cannot quantize the non-finite range [{}, {}]", range.min, range.max));
  }
  if (range.min > range.max) {
    throw runtime_failure(fmt::format("calibrated range [{}, {}] has min > max", range.min, range.max));
  }
  // float32 throughout, mirroring torch.ao.quantization.observer._calculate_qparams.
  const float eps = min_scale;
  const float min_neg = std::min(static_cast<float>(range.min), 0.0f);
  const float max_pos = std::max(static_cast<float>(range.max), 0.0f);
  const auto levels = static_cast<float>(qmax - qmin);
  if (symmetric) {
    const float bound = std::max(-min_neg, max_pos);
    const float scale = std::max(bound / (levels / 2.0f), eps);
    // (qmin + qmax + 1) / 2 is 128 for quint8 [0, 255] and 0 for qint8 [-128, 127].
    const int64_t sum = qmin + qmax + 1;
    const int64_t zero_point = sum >= 0 ? sum / 2 : -((-sum + 1) / 2);
    return {static_cast<double>(scale), zero_point};
  }
  const float scale = std::max((max_pos - min_neg) / levels, eps);
  // std::nearbyint under the default rounding mode rounds half to even, like torch.round.
  const auto zero_point = qmin - static_cast<int64_t>(std::nearbyint(min_neg / scale));
  return {static_cast<double>(scale), std::clamp(zero_point, qmin, qmax)};
}

}  // namespace mopt
