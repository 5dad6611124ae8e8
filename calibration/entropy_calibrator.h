#pragma once
// Entropy (KL-divergence) calibration, TensorRT style; the algorithm is described in entropy_calibrator.cpp.
#include "calibration/calibrator.h"
#include "calibration/histogram.h"

namespace mopt {

/// Picks the clipping threshold whose quantized distribution loses the least information (minimum
/// KL(P||Q)) over a streaming histogram of |x|: [-T, T] for signed data, [0, T] for non-negative data.
class EntropyCalibrator : public Calibrator {
 public:
  /// `bins` >= `quant_levels` >= 2; usage_error otherwise.
  EntropyCalibrator(int64_t bins, int64_t quant_levels);
  /// "entropy".
  std::string name() const override { return "entropy"; }
  /// Adds the batch's non-zero |x| to the histogram and tracks the signs seen.
  void observe(const torch::Tensor& values) override;
  /// The threshold range minimising KL divergence.
  Range range() const override;

 private:
  int64_t quant_levels_;
  StreamingHistogram magnitudes_;  // histogram of non-zero |x|, anchored at 0
  bool seen_values_ = false;       // any finite value, zeros included
  double data_min_ = 0;  ///< smallest and largest finite value seen (0 before any)
  double data_max_ = 0;
};

/// KL(P || Q) of the TensorRT candidate with `threshold_bin` reference bins over `counts`, quantized
/// into `target_bins` levels; exposed for tests. Infinite when the candidate cannot be formed.
double entropy_candidate_divergence(const std::vector<double>& counts, int64_t threshold_bin, int64_t target_bins);

}  // namespace mopt
