#pragma once
// MSE calibration: the clipping range with the least expected squared quantization error.
#include "calibration/calibrator.h"
#include "calibration/histogram.h"

namespace mopt {

/// Searches candidate ranges [lo, hi] (lo <= 0 <= hi, as the quantizer always represents 0) and keeps
/// the one minimising clipping error + rounding error, both estimated from a streaming histogram.
class MseCalibrator : public Calibrator {
 public:
  /// `bins` >= 2 histogram bins, `quant_levels` >= 2 levels the range is cut into; usage_error otherwise.
  MseCalibrator(int64_t bins, int64_t quant_levels);
  /// "mse".
  std::string name() const override { return "mse"; }
  /// Adds the batch to the histogram.
  void observe(const torch::Tensor& values) override;
  /// The range with the least estimated mean squared error.
  Range range() const override;
  /// Estimated total squared error of quantizing the observed values to `candidate`; exposed for tests.
  double expected_error(Range candidate) const;

 private:
  int64_t quant_levels_;
  StreamingHistogram histogram_;
};

}  // namespace mopt
