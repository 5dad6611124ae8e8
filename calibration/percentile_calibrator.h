#pragma once
// Percentile calibration: drop the rarest tail values on each side, read off a streaming histogram.
#include "calibration/calibrator.h"
#include "calibration/histogram.h"

namespace mopt {

/// [p_low, p_high] where p_high is the `percentile` percentile and p_low the (100 - percentile) one,
/// interpolated within histogram bins. A side the data never crosses stays at 0: post-ReLU data
/// (all >= 0) keeps min = 0, all-negative data keeps max = 0.
class PercentileCalibrator : public Calibrator {
 public:
  /// `percentile` in (50, 100]; `bins` of the streaming histogram; usage_error otherwise.
  PercentileCalibrator(double percentile, int64_t bins);
  /// "percentile".
  std::string name() const override { return "percentile"; }
  /// Adds the batch to the histogram.
  void observe(const torch::Tensor& values) override;
  /// The percentile range of everything observed.
  Range range() const override;

 private:
  double percentile_;
  StreamingHistogram histogram_;
};

}  // namespace mopt
