#include "calibration/minmax_calibrator.h"

#include <algorithm>

#include "calibration/finite_values.h"

namespace mopt {

void MinMaxCalibrator::observe(const torch::Tensor& values) {
  auto x = finite_values(values);
  if (x.numel() == 0) return;
  auto [lo, hi] = torch::aminmax(x);
  if (!seen_) {
    range_ = {lo.item<double>(), hi.item<double>()};
    seen_ = true;
    return;
  }
  range_.min = std::min(range_.min, lo.item<double>());
  range_.max = std::max(range_.max, hi.item<double>());
}

Range MinMaxCalibrator::range() const {
  if (!seen_) throw_nothing_observed(name());
  return range_;
}

}  // namespace mopt
