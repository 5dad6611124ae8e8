#pragma once
// A fixed-size histogram that follows a stream of tensors: the calibrators' only memory of the data.
#include <torch/script.h>

#include <cstdint>
#include <vector>

namespace mopt {

/// Fixed-bin streaming histogram of a tensor stream; the range grows to cover new data by merging bins (like PyTorch's HistogramObserver re-binning), so memory is O(bins) whatever the data size.
///
/// Growth is exact: the new bin width is an integer multiple k of the old one and the new grid is
/// aligned with the old, so every old bin falls entirely inside one new bin and no count is split
/// or interpolated. The first batch sets the range to its own [min, max]; non-finite values are ignored.
class StreamingHistogram {
 public:
  /// `bins` >= 1 counters; `anchor_at_zero` keeps 0 inside the range (for |x| histograms that start at 0).
  explicit StreamingHistogram(int64_t bins = 2048, bool anchor_at_zero = false);

  /// Adds every finite value of `values` (any shape, any real dtype), growing the range if needed.
  void add(const torch::Tensor& values);
  /// Adds |v| for every finite, non-zero v of `values` (the entropy calibrator's histogram).
  void add_magnitudes(const torch::Tensor& values);

  /// Lower edge of bin 0.
  double min() const { return min_; }
  /// Upper edge of the last bin (may lie beyond the data after a merge).
  double max() const { return min_ + width_ * static_cast<double>(bins()); }
  /// Smallest value seen (exact, not rounded to a bin edge).
  double data_min() const { return data_min_; }
  /// Largest value seen (exact).
  double data_max() const { return data_max_; }
  /// Count per bin; always exactly bins() entries.
  const std::vector<double>& counts() const { return counts_; }
  /// Number of bins, fixed at construction.
  int64_t bins() const { return static_cast<int64_t>(counts_.size()); }
  /// Number of values added.
  double total() const { return total_; }
  /// Width of every bin; 0 while all values seen are equal (they sit in bin 0).
  double bin_width() const { return width_; }
  /// True until a finite value was added.
  bool empty() const { return total_ == 0; }
  /// Center of bin `i`.
  double bin_center(int64_t i) const { return min_ + (static_cast<double>(i) + 0.5) * width_; }
  /// The value below which a fraction `q` (0..1) of the counts lies, interpolated linearly inside the
  /// bin and clamped to [data_min, data_max]; runtime_failure when empty.
  double quantile(double q) const;

 private:
  void add_values(const torch::Tensor& values, bool magnitudes);  ///< float32 or float64, read in place
  template <typename T>
  void add_scanned(const T* values, int64_t n, bool magnitudes);
  void start(double lo, double hi);
  void grow_to(double lo, double hi);
  void rebin(double new_min, double new_width, double offset_bins, double factor);

  std::vector<double> counts_;
  bool anchor_at_zero_;
  double min_ = 0;
  double width_ = 0;
  double data_min_ = 0;
  double data_max_ = 0;
  double total_ = 0;
};

}  // namespace mopt
