#include "calibration/percentile_calibrator.h"

#include <fmt/format.h>

#include "lib/errors.h"

namespace mopt {

namespace {

double checked_percentile(double percentile) {
  if (!(percentile > 50 && percentile <= 100)) {
    throw usage_error(fmt::format("--percentile must be in (50, 100], e.g. 99.99; got {}", percentile));
  }
  return percentile;
}

}  // namespace

PercentileCalibrator::PercentileCalibrator(double percentile, int64_t bins)
    : percentile_(checked_percentile(percentile)), histogram_(bins) {}

void PercentileCalibrator::observe(const torch::Tensor& values) { histogram_.add(values); }

Range PercentileCalibrator::range() const {
  if (histogram_.empty()) throw_nothing_observed(name());
  const double high_fraction = percentile_ / 100.0;
  Range r{histogram_.quantile(1.0 - high_fraction), histogram_.quantile(high_fraction)};
  // Quantization always represents 0 exactly; a side the data never reaches must not move off 0.
  if (histogram_.data_min() >= 0) r.min = 0;
  if (histogram_.data_max() <= 0) r.max = 0;
  return r;
}

}  // namespace mopt
