#pragma once
// Summary statistics of latency samples for `mopt bench`: robust figures (percentiles, a
// distribution-free confidence interval of the median) next to the classic mean/std.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <vector>

namespace mopt {

/// Summary of latency samples in milliseconds.
struct LatencyStats {
  int64_t count = 0;
  double mean_ms = 0;
  double std_ms = 0;  ///< sample standard deviation (n - 1); 0 for one sample
  double min_ms = 0;
  double max_ms = 0;
  double p50_ms = 0;
  double p90_ms = 0;
  double p95_ms = 0;
  double p99_ms = 0;
  double cv = 0;  ///< std_ms / mean_ms; 0 when the mean is 0
  double p50_ci_low_ms = 0;   ///< 95% confidence interval of the median, lower bound
  double p50_ci_high_ms = 0;  ///< 95% confidence interval of the median, upper bound
};

/// Percentile `q` in [0, 100] of ascending `sorted` values, interpolated linearly (numpy's default).
double percentile_of_sorted(const std::vector<double>& sorted, double q);

/// Summarizes samples; throws runtime_failure when empty or when a sample is not finite.
LatencyStats summarize_latencies(std::vector<double> samples_ms);

/// {"count","mean_ms","std_ms","min_ms","max_ms","p50_ms","p90_ms","p95_ms","p99_ms","cv","p50_ci95_ms":[low,high]}.
nlohmann::json latency_json(const LatencyStats& stats);

}  // namespace mopt
