#include "calibration/histogram.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "calibration/finite_values.h"
#include "lib/errors.h"

namespace mopt {

StreamingHistogram::StreamingHistogram(int64_t bins, bool anchor_at_zero) : anchor_at_zero_(anchor_at_zero) {
  if (bins < 1) throw usage_error("a calibration histogram needs at least 1 bin, got " + std::to_string(bins));
  counts_.assign(static_cast<size_t>(bins), 0.0);
}

// Two passes over the raw values (range, then counts) instead of tensor ops: calibration feeds
// every activation of every sample through here, and the tensor version made five float64 copies
// of each (docs/benchmarks.md, "Calibration cost").
template <typename T>
void StreamingHistogram::add_scanned(const T* values, int64_t n, bool magnitudes) {
  auto read = [&](int64_t i, double& v) {
    v = static_cast<double>(values[i]);
    if (!std::isfinite(v)) return false;
    if (magnitudes) {
      if (v == 0) return false;
      v = std::fabs(v);
    }
    return true;
  };
  double lo = std::numeric_limits<double>::infinity(), hi = -lo, v = 0;
  int64_t kept = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (!read(i, v)) continue;
    lo = std::min(lo, v);
    hi = std::max(hi, v);
    ++kept;
  }
  if (kept == 0) return;
  if (empty()) {
    start(lo, hi);
    data_min_ = lo;
    data_max_ = hi;
  } else {
    grow_to(lo, hi);
    data_min_ = std::min(data_min_, lo);
    data_max_ = std::max(data_max_, hi);
  }
  total_ += static_cast<double>(kept);
  if (width_ == 0) {
    // Degenerate range: every value seen so far equals min_, so they all belong to bin 0.
    counts_[0] += static_cast<double>(kept);
    return;
  }
  const double last = static_cast<double>(bins() - 1);
  for (int64_t i = 0; i < n; ++i) {
    if (!read(i, v)) continue;
    // Clamping absorbs the last-ulp differences between a value and the range edges.
    const double index = std::clamp(std::floor((v - min_) / width_), 0.0, last);
    counts_[static_cast<size_t>(index)] += 1;
  }
}

void StreamingHistogram::add_values(const torch::Tensor& values, bool magnitudes) {
  const auto x = flat_real_values(values);
  if (x.scalar_type() == torch::kDouble) add_scanned(x.data_ptr<double>(), x.numel(), magnitudes);
  else add_scanned(x.data_ptr<float>(), x.numel(), magnitudes);
}

void StreamingHistogram::add(const torch::Tensor& values) { add_values(values, false); }

void StreamingHistogram::add_magnitudes(const torch::Tensor& values) { add_values(values, true); }

double StreamingHistogram::quantile(double q) const {
  if (empty()) throw runtime_failure("quantile of an empty histogram; observe some values first");
  if (q <= 0 || width_ == 0) return data_min_;
  if (q >= 1) return data_max_;
  const double target = q * total_;
  double cumulative = 0;
  for (int64_t i = 0; i < bins(); ++i) {
    const double c = counts_[static_cast<size_t>(i)];
    if (c > 0 && cumulative + c >= target) {
      // Values are assumed spread evenly inside the bin, the usual histogram estimate.
      const double fraction = (target - cumulative) / c;
      const double value = min_ + (static_cast<double>(i) + fraction) * width_;
      return std::clamp(value, data_min_, data_max_);
    }
    cumulative += c;
  }
  return data_max_;
}

void StreamingHistogram::start(double lo, double hi) {
  if (anchor_at_zero_) {
    lo = std::min(lo, 0.0);
    hi = std::max(hi, 0.0);
  }
  std::fill(counts_.begin(), counts_.end(), 0.0);
  min_ = lo;
  width_ = (hi - lo) / static_cast<double>(bins());
}

void StreamingHistogram::grow_to(double lo, double hi) {
  if (anchor_at_zero_) {
    lo = std::min(lo, 0.0);
    hi = std::max(hi, 0.0);
  }
  if (width_ == 0) {
    if (lo == min_ && hi == min_) return;
    // All earlier values sit at one point: restart on the union and put that mass back where it belongs.
    const double point = min_;
    const double mass = counts_[0];
    start(std::min(lo, point), std::max(hi, point));
    if (width_ == 0) {
      counts_[0] = mass;
      return;
    }
    const double index = std::floor((point - min_) / width_);
    counts_[static_cast<size_t>(std::clamp(index, 0.0, static_cast<double>(bins() - 1)))] += mass;
    return;
  }
  if (lo >= min_ && hi <= max()) return;
  const auto n = static_cast<double>(bins());
  // Measured in old bin widths: how far the grid must extend below, and how far above min_ it must reach.
  const double below = lo < min_ ? std::ceil((min_ - lo) / width_) : 0.0;
  const double reach = hi > max() ? std::ceil((hi - min_) / width_) : n;
  const double factor = std::ceil((below + std::max(reach, n)) / n);
  if (factor < 2) return;  // `hi` exceeded max() by rounding only; clamping puts it in the last bin
  rebin(min_ - below * width_, width_ * factor, below, factor);
}

void StreamingHistogram::rebin(double new_min, double new_width, double offset_bins, double factor) {
  std::vector<double> merged(counts_.size(), 0.0);
  const double last = static_cast<double>(bins() - 1);
  for (int64_t i = 0; i < bins(); ++i) {
    const double c = counts_[static_cast<size_t>(i)];
    if (c == 0) continue;
    // Old bin i spans old-grid cells [i + offset, i + offset + 1), which lie inside new bin floor(. / factor).
    const double j = std::floor((static_cast<double>(i) + offset_bins) / factor);
    merged[static_cast<size_t>(std::clamp(j, 0.0, last))] += c;
  }
  counts_ = std::move(merged);
  min_ = new_min;
  width_ = new_width;
}

}  // namespace mopt
