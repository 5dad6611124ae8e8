#pragma once
// The timing loop of `mopt bench`: warm-up, then timed calls until a stop rule is met. The loop
// itself must cost next to nothing per call, or it would show up in the figures of fast models.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace mopt {

/// When to stop sampling: after a fixed count, after a minimum time, or once the samples are
/// stable (coefficient of variation below a target) with a time cap.
struct StopRule {
  enum class Kind { kIterations, kMinTime, kTargetCv };
  Kind kind = Kind::kIterations;
  int64_t iterations = 100;    ///< kIterations: exact number of timed calls
  double min_time_s = 0;       ///< kMinTime: keep sampling at least this long
  double target_cv = 0;        ///< kTargetCv: stop once std/mean of the samples drops below this
  double max_time_s = 60;      ///< kTargetCv: give up after this long
  int64_t min_iterations = 10; ///< time-based rules: never stop with fewer samples than this
};

/// "iterations=100", "min-time=2s" or "target-cv=0.05 (max-time 60s)".
std::string describe(const StopRule& rule);

/// Time-based rules stop at this many samples (80 MB of doubles) so a no-op call cannot exhaust
/// memory within max-time; stopped_by is then "max-samples".
constexpr int64_t kMaxTimedSamples = 10'000'000;

/// Samples of one timed run.
struct TimedRun {
  std::vector<double> samples_ms;  ///< one per timed call, in call order
  std::string stopped_by;          ///< "iterations", "min-time", "target-cv", "max-time" or "max-samples"
  double elapsed_s = 0;            ///< wall time of the timed calls (warm-up excluded)
};

/// Calls `call` `warmup` times untimed, then times each call with steady_clock until `rule`
/// stops the run. `progress` (optional) gets (timed calls done, elapsed seconds) a few times a
/// second and once at the end. Throws usage_error for a rule or warm-up count that cannot stop.
TimedRun run_timed(const std::function<void()>& call, int64_t warmup, const StopRule& rule,
                   const std::function<void(int64_t done, double elapsed_s)>& progress = {});

}  // namespace mopt
