#pragma once
// `mopt bench --duration SECONDS [--rate N]`: a steady-state soak. Calls run flat out or paced at a
// fixed request rate; latency percentiles per time window show drift (thermal throttling, memory
// growth, allocator fragmentation) that one short run averages away.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "lib/measure/latency_stats.h"
#include "lib/measure/timed_run.h"

namespace mopt {

/// How long, how fast, and how finely to report.
struct SoakSettings {
  double duration_s = 0;  ///< timed phase length (warm-up excluded)
  double rate_per_s = 0;  ///< 0 = flat out; else call i is due at start + i / rate
  double window_s = 0;    ///< 0 = duration / kDefaultWindows
};

/// Windows a soak reports when --window is not given.
inline constexpr int kDefaultWindows = 6;
/// RSS growth from the end of the first window to the end of the run that is flagged as a leak:
/// both this many MiB and kLeakFraction of the first window's RSS.
inline constexpr double kLeakMb = 5.0;
inline constexpr double kLeakFraction = 0.02;

/// One time window of a soak: its calls are samples [begin, end) of the run.
struct SoakWindow {
  double start_s = 0, end_s = 0;
  size_t begin = 0, end = 0;
  double rss_end_mb = 0;
  size_t count() const { return end - begin; }
};

/// A finished soak: every sample (for the row's overall figures) and the windows.
struct SoakRun {
  TimedRun run;                    ///< stopped_by "duration"
  std::vector<SoakWindow> windows;
  int64_t late_starts = 0;         ///< paced calls that started after their due time (the model is slower than the rate)
  SoakSettings settings;
};

/// "duration=60s rate=50/s window=10s" (rate "max" when flat out).
std::string describe(const SoakSettings& settings);

/// Throws usage_error for a non-positive duration, a negative rate or a window longer than the duration.
void validate(const SoakSettings& settings);

/// The windows' time spans (calls not assigned yet): [0, w), [w, 2w), ... up to duration_s.
std::vector<SoakWindow> soak_windows(const SoakSettings& settings);

/// Runs `warmup` untimed calls, then calls until duration_s has passed. The sample buffer is sized
/// and written before the timed phase (from the rate, or from the warm-up's pace) so that the
/// harness's own memory does not read as RSS growth. Throws usage_error for a non-positive
/// duration, a negative rate or a window longer than the duration.
SoakRun run_soak(const std::function<void()>& call, int64_t warmup, const SoakSettings& settings,
                 const std::function<void(int64_t done, double elapsed_s)>& progress = {});

/// {"settings", "late_starts", "windows": [{start_s, end_s, count, p50_ms, p95_ms, p99_ms, mean_ms, rss_end_mb}],
///  "drift": {"p50_percent", "p99_percent"} (last window vs first), "rss_growth_mb", "rss_growth_flagged"}
nlohmann::json soak_json(const SoakRun& soak);

}  // namespace mopt
