#pragma once
// Min-max calibration: the range of every value seen. Cheap and exact, but one outlier widens it.
#include "calibration/calibrator.h"

namespace mopt {

/// Running min and max of every observed value (PyTorch's MinMaxObserver).
class MinMaxCalibrator : public Calibrator {
 public:
  /// "minmax".
  std::string name() const override { return "minmax"; }
  /// Widens the running range to cover the batch.
  void observe(const torch::Tensor& values) override;
  /// [smallest, largest] value observed.
  Range range() const override;

 private:
  bool seen_ = false;
  Range range_;
};

}  // namespace mopt
