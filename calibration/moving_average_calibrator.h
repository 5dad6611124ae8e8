#pragma once
// Moving-average min-max calibration: smooths per-batch extremes so one odd batch cannot set the range.
#include "calibration/calibrator.h"

namespace mopt {

/// Exponential moving average of per-batch min and max (PyTorch's MovingAverageMinMaxObserver):
/// the first batch initialises, then min += c * (batch_min - min), likewise for max.
class MovingAverageCalibrator : public Calibrator {
 public:
  /// `averaging_constant` c in (0, 1]: the weight of each new batch; usage_error otherwise.
  explicit MovingAverageCalibrator(double averaging_constant);
  /// "moving-average".
  std::string name() const override { return "moving-average"; }
  /// Folds the batch's min and max into the averages.
  void observe(const torch::Tensor& values) override;
  /// The averaged [min, max].
  Range range() const override;

 private:
  double averaging_constant_;
  bool seen_ = false;
  Range range_;
};

}  // namespace mopt
