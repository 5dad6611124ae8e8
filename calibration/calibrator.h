#pragma once
// The calibrator interface for static quantization: watch activations, then name a clipping range.
#include <torch/script.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace mopt {

/// A closed interval of real values that quantization should represent.
struct Range {
  double min = 0, max = 0;
};

/// Watches a stream of activation tensors and picks the range they should be quantized to.
class Calibrator {
 public:
  virtual ~Calibrator() = default;
  /// The registered name ("minmax", "entropy", ...).
  virtual std::string name() const = 0;
  /// Feeds one batch (any shape, any real dtype); non-finite values are ignored.
  virtual void observe(const torch::Tensor& values) = 0;
  /// The clipping range chosen for the values seen so far; runtime_failure if nothing was observed.
  virtual Range range() const = 0;
};

/// Knobs shared by every calibrator; each one reads the fields it needs and validates them.
struct CalibratorOptions {
  /// Percentile calibrator: keep [100 - p, p] percent of the values (50 < p <= 100).
  double percentile = 99.99;
  /// Moving-average calibrator: weight of each new batch (0 < c <= 1).
  double averaging_constant = 0.01;
  /// Histogram size for percentile, entropy and MSE; fixed, so memory stays O(bins).
  int64_t bins = 2048;
  /// Number of quantization levels the range is cut into; 256 for uint8 activations.
  int64_t quant_levels = 256;
};

/// A calibrator by name: "minmax", "moving-average", "percentile", "entropy", "mse"; unknown -> usage_error listing the names.
std::unique_ptr<Calibrator> make_calibrator(const std::string& name, const CalibratorOptions& options);
/// Every name make_calibrator accepts, in a stable order.
std::vector<std::string> calibrator_names();

/// runtime_failure naming the calibrator when range() is asked before any finite value was observed.
[[noreturn]] void throw_nothing_observed(const std::string& calibrator_name);

}  // namespace mopt
