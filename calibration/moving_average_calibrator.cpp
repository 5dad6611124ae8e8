#include "calibration/moving_average_calibrator.h"

#include <fmt/format.h>

#include "calibration/finite_values.h"
#include "lib/errors.h"

namespace mopt {

MovingAverageCalibrator::MovingAverageCalibrator(double averaging_constant) : averaging_constant_(averaging_constant) {
  if (!(averaging_constant > 0 && averaging_constant <= 1)) {
    throw usage_error(fmt::format("averaging constant must be in (0, 1], got {}", averaging_constant));
  }
}

void MovingAverageCalibrator::observe(const torch::Tensor& values) {
  auto x = finite_values(values);
  if (x.numel() == 0) return;  // an empty batch carries no evidence; it must not pull the average
  auto [lo_t, hi_t] = torch::aminmax(x);
  const double lo = lo_t.item<double>();
  const double hi = hi_t.item<double>();
  if (!seen_) {
    range_ = {lo, hi};
    seen_ = true;
    return;
  }
  range_.min += averaging_constant_ * (lo - range_.min);
  range_.max += averaging_constant_ * (hi - range_.max);
}

Range MovingAverageCalibrator::range() const {
  if (!seen_) throw_nothing_observed(name());
  return range_;
}

}  // namespace mopt
