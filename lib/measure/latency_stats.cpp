#include "lib/measure/latency_stats.h"

#include <algorithm>
#include <cmath>

#include "lib/errors.h"

namespace mopt {
namespace {

// The median's 95% interval from order statistics: the count of samples below the true median is
// Binomial(n, 1/2), approximated as Normal(n/2, sqrt(n)/2). Using sample ranks (not a normal
// approximation of the latencies) keeps it valid for the skewed, long-tailed shape of latencies.
// 1-based ranks round outwards so the interval never undercovers; for n = 100 this gives ranks
// 40 and 61, the textbook values.
constexpr double kZ95 = 1.959963984540054;

std::pair<double, double> median_ci(const std::vector<double>& sorted) {
  const auto n = static_cast<double>(sorted.size());
  const double half_width = kZ95 * std::sqrt(n) / 2.0;
  const auto last = static_cast<int64_t>(sorted.size());
  const auto low_rank = std::clamp<int64_t>(static_cast<int64_t>(std::floor(n / 2.0 - half_width)), 1, last);
  const auto high_rank = std::clamp<int64_t>(static_cast<int64_t>(std::ceil(1.0 + n / 2.0 + half_width)), 1, last);
  return {sorted[static_cast<size_t>(low_rank - 1)], sorted[static_cast<size_t>(high_rank - 1)]};
}

}  // namespace

double percentile_of_sorted(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) throw runtime_failure("cannot take a percentile of no samples");
  const double position = std::clamp(q, 0.0, 100.0) / 100.0 * static_cast<double>(sorted.size() - 1);
  const auto below = static_cast<size_t>(std::floor(position));
  const auto above = std::min(below + 1, sorted.size() - 1);
  const double fraction = position - static_cast<double>(below);
  return sorted[below] + (sorted[above] - sorted[below]) * fraction;
}

LatencyStats summarize_latencies(std::vector<double> samples_ms) {
  if (samples_ms.empty()) throw runtime_failure("no latency samples to summarize: run at least one timed iteration");
  for (double s : samples_ms) {
    if (!std::isfinite(s)) throw runtime_failure("a latency sample is not a finite number");
  }
  std::sort(samples_ms.begin(), samples_ms.end());
  LatencyStats stats;
  stats.count = static_cast<int64_t>(samples_ms.size());
  // Two-pass mean/variance: latencies are all of one magnitude, but the naive sum-of-squares
  // form cancels badly when the spread is tiny relative to the mean.
  double sum = 0;
  for (double s : samples_ms) sum += s;
  stats.mean_ms = sum / static_cast<double>(stats.count);
  double squares = 0;
  for (double s : samples_ms) squares += (s - stats.mean_ms) * (s - stats.mean_ms);
  stats.std_ms = stats.count > 1 ? std::sqrt(squares / static_cast<double>(stats.count - 1)) : 0.0;
  stats.cv = stats.mean_ms != 0 ? stats.std_ms / stats.mean_ms : 0.0;
  stats.min_ms = samples_ms.front();
  stats.max_ms = samples_ms.back();
  stats.p50_ms = percentile_of_sorted(samples_ms, 50);
  stats.p90_ms = percentile_of_sorted(samples_ms, 90);
  stats.p95_ms = percentile_of_sorted(samples_ms, 95);
  stats.p99_ms = percentile_of_sorted(samples_ms, 99);
  std::tie(stats.p50_ci_low_ms, stats.p50_ci_high_ms) = median_ci(samples_ms);
  return stats;
}

nlohmann::json latency_json(const LatencyStats& stats) {
  return {{"count", stats.count},
          {"mean_ms", stats.mean_ms},
          {"std_ms", stats.std_ms},
          {"min_ms", stats.min_ms},
          {"max_ms", stats.max_ms},
          {"p50_ms", stats.p50_ms},
          {"p90_ms", stats.p90_ms},
          {"p95_ms", stats.p95_ms},
          {"p99_ms", stats.p99_ms},
          {"cv", stats.cv},
          {"p50_ci95_ms", {stats.p50_ci_low_ms, stats.p50_ci_high_ms}}};
}

}  // namespace mopt
