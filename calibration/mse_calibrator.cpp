// MSE calibration. For a candidate range [lo, hi] quantized to L levels (step D = (hi - lo) / (L - 1)),
// each histogram bin is treated as its count n sitting at its center c (clamped to the data's extremes):
//   clipping error  n * (c - hi)^2 for c > hi, n * (lo - c)^2 for c < lo (the value lands on the edge);
//   rounding error  n * D^2 / 12 for c inside (values spread evenly within one step).
// With prefix sums of n, n*c and n*c^2 every candidate costs O(log bins), so the search is a grid:
// kCandidates + 1 evenly spaced values of hi in [0, data_max] times as many of lo in [data_min, 0]
// (one side is pinned to 0 when the data never crosses it). Asymmetric on purpose: post-ReLU data or
// skewed activations get the range their affine quantizer can use; choose_qparams can symmetrize.
#include "calibration/mse_calibrator.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "lib/errors.h"

namespace mopt {

namespace {

constexpr int kCandidates = 128;

// Prefix sums over bins: sum of n, n*c and n*c^2 for bins [0, k).
struct Moments {
  std::vector<double> centers, n, nc, ncc;
};

Moments moments_of(const StreamingHistogram& h) {
  Moments m;
  const auto bins = static_cast<size_t>(h.bins());
  m.centers.resize(bins);
  m.n.assign(bins + 1, 0.0);
  m.nc.assign(bins + 1, 0.0);
  m.ncc.assign(bins + 1, 0.0);
  for (size_t k = 0; k < bins; ++k) {
    // Clamped so a bin that straddles the data's edge is not charged for values beyond it.
    const double c = std::clamp(h.bin_center(static_cast<int64_t>(k)), h.data_min(), h.data_max());
    const double count = h.counts()[k];
    m.centers[k] = c;
    m.n[k + 1] = m.n[k] + count;
    m.nc[k + 1] = m.nc[k] + count * c;
    m.ncc[k + 1] = m.ncc[k] + count * c * c;
  }
  return m;
}

// Sum over bins [a, b) of n * (c - t)^2.
double squared_distance(const Moments& m, size_t a, size_t b, double t) {
  if (a >= b) return 0;
  const double n = m.n[b] - m.n[a];
  const double s1 = m.nc[b] - m.nc[a];
  const double s2 = m.ncc[b] - m.ncc[a];
  return std::max(0.0, s2 - 2 * t * s1 + t * t * n);
}

double error_of(const Moments& m, Range r, int64_t levels) {
  // Bins below lo are [0, a); bins above hi are [b, bins). Centers are sorted, so binary search finds them.
  const auto a = static_cast<size_t>(std::lower_bound(m.centers.begin(), m.centers.end(), r.min) - m.centers.begin());
  const auto b = static_cast<size_t>(std::upper_bound(m.centers.begin(), m.centers.end(), r.max) - m.centers.begin());
  const double step = (r.max - r.min) / static_cast<double>(levels - 1);
  const double inside = a < b ? m.n[b] - m.n[a] : 0.0;
  return squared_distance(m, 0, a, r.min) + squared_distance(m, b, m.centers.size(), r.max) + inside * step * step / 12.0;
}

}  // namespace

MseCalibrator::MseCalibrator(int64_t bins, int64_t quant_levels) : quant_levels_(quant_levels), histogram_(bins) {
  if (quant_levels < 2) throw usage_error(fmt::format("MSE calibration needs >= 2 quantization levels, got {}", quant_levels));
  if (bins < 2) throw usage_error(fmt::format("MSE calibration needs >= 2 histogram bins, got {}", bins));
}

void MseCalibrator::observe(const torch::Tensor& values) { histogram_.add(values); }

double MseCalibrator::expected_error(Range candidate) const {
  if (histogram_.empty()) throw_nothing_observed(name());
  return error_of(moments_of(histogram_), candidate, quant_levels_);
}

Range MseCalibrator::range() const {
  if (histogram_.empty()) throw_nothing_observed(name());
  const double data_min = histogram_.data_min();
  const double data_max = histogram_.data_max();
  // One value seen (possibly many times): nothing to trade off.
  if (histogram_.bin_width() == 0) return {std::min(data_min, 0.0), std::max(data_max, 0.0)};
  const Moments m = moments_of(histogram_);
  const double lo_extent = std::min(data_min, 0.0);
  const double hi_extent = std::max(data_max, 0.0);
  const int lo_steps = lo_extent < 0 ? kCandidates : 0;
  const int hi_steps = hi_extent > 0 ? kCandidates : 0;

  Range best{lo_extent, hi_extent};
  double best_error = std::numeric_limits<double>::infinity();
  // From the widest candidates inward, keeping only strict improvements: ties keep the wider range.
  for (int i = lo_steps; i >= 0; --i) {
    const double lo = lo_steps == 0 ? 0.0 : lo_extent * i / lo_steps;
    for (int j = hi_steps; j >= 0; --j) {
      const double hi = hi_steps == 0 ? 0.0 : hi_extent * j / hi_steps;
      if (hi <= lo) continue;
      const double e = error_of(m, {lo, hi}, quant_levels_);
      if (e < best_error) {
        best_error = e;
        best = {lo, hi};
      }
    }
  }
  return best;
}

}  // namespace mopt
