#include "calibration/histogram.h"

#include <algorithm>
#include <cmath>

#include "calibration/finite_values.h"
#include "lib/errors.h"

namespace mopt {

StreamingHistogram::StreamingHistogram(int64_t bins, bool anchor_at_zero) : anchor_at_zero_(anchor_at_zero) {
  if (bins < 1) throw usage_error("a calibration histogram needs at least 1 bin, got " + std::to_string(bins));
  counts_.assign(static_cast<size_t>(bins), 0.0);
}

void StreamingHistogram::add(const torch::Tensor& values) {
  auto x = finite_values(values);
  if (x.numel() == 0) return;
  auto [lo_t, hi_t] = torch::aminmax(x);
  const double lo = lo_t.item<double>();
  const double hi = hi_t.item<double>();
  if (empty()) {
    start(lo, hi);
    data_min_ = lo;
    data_max_ = hi;
  } else {
    grow_to(lo, hi);
    data_min_ = std::min(data_min_, lo);
    data_max_ = std::max(data_max_, hi);
  }
  const auto n = static_cast<double>(x.numel());
  total_ += n;
  if (width_ == 0) {
    // Degenerate range: every value seen so far equals min_, so they all belong to bin 0.
    counts_[0] += n;
    return;
  }
  // Clamping absorbs the last-ulp differences between a value and the range edges.
  auto index = ((x - min_) / width_).floor().clamp(0, static_cast<double>(bins() - 1)).to(torch::kLong);
  auto per_bin = torch::bincount(index, /*weights=*/{}, bins()).to(torch::kDouble).contiguous();
  const double* p = per_bin.data_ptr<double>();
  for (int64_t i = 0; i < bins(); ++i) counts_[static_cast<size_t>(i)] += p[i];
}

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
