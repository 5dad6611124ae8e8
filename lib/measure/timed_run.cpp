#include "lib/measure/timed_run.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <cmath>

#include "lib/errors.h"

namespace mopt {
namespace {

using Clock = std::chrono::steady_clock;

constexpr double kProgressPeriodS = 0.25;
// Time-based runs start with room for this many samples; growth past it is amortized doubling.
constexpr int64_t kInitialReserve = 4096;

void validate(const StopRule& rule, int64_t warmup) {
  if (warmup < 0) throw usage_error(fmt::format("warm-up count must be >= 0, got {}", warmup));
  switch (rule.kind) {
    case StopRule::Kind::kIterations:
      if (rule.iterations < 1) throw usage_error(fmt::format("iterations must be >= 1, got {}", rule.iterations));
      return;
    case StopRule::Kind::kMinTime:
      if (!(rule.min_time_s > 0)) throw usage_error(fmt::format("min-time must be > 0 seconds, got {}", rule.min_time_s));
      break;
    case StopRule::Kind::kTargetCv:
      if (!(rule.target_cv > 0)) throw usage_error(fmt::format("target-cv must be > 0, got {}", rule.target_cv));
      if (!(rule.max_time_s > 0)) throw usage_error(fmt::format("max-time must be > 0 seconds, got {}", rule.max_time_s));
      break;
  }
  if (rule.min_iterations < 1) throw usage_error(fmt::format("min-iterations must be >= 1, got {}", rule.min_iterations));
}

// Welford's running mean/variance: the CV is checked after every call, so it must be O(1).
struct RunningCv {
  int64_t n = 0;
  double mean = 0;
  double m2 = 0;
  void add(double x) {
    ++n;
    const double delta = x - mean;
    mean += delta / static_cast<double>(n);
    m2 += delta * (x - mean);
  }
  double cv() const {
    if (n < 2 || mean <= 0) return INFINITY;
    return std::sqrt(m2 / static_cast<double>(n - 1)) / mean;
  }
};

}  // namespace

std::string describe(const StopRule& rule) {
  switch (rule.kind) {
    case StopRule::Kind::kIterations: return fmt::format("iterations={}", rule.iterations);
    case StopRule::Kind::kMinTime: return fmt::format("min-time={}s", rule.min_time_s);
    case StopRule::Kind::kTargetCv: return fmt::format("target-cv={} (max-time {}s)", rule.target_cv, rule.max_time_s);
  }
  return "unknown";
}

TimedRun run_timed(const std::function<void()>& call, int64_t warmup, const StopRule& rule,
                   const std::function<void(int64_t done, double elapsed_s)>& progress) {
  validate(rule, warmup);
  for (int64_t i = 0; i < warmup; ++i) call();

  TimedRun run;
  const bool fixed = rule.kind == StopRule::Kind::kIterations;
  run.samples_ms.reserve(static_cast<size_t>(fixed ? rule.iterations : std::max(kInitialReserve, rule.min_iterations)));
  RunningCv running;
  double next_progress_s = kProgressPeriodS;

  // One clock read per call: the end of one call is the start of the next, so the loop's own
  // bookkeeping lands in the following sample instead of costing a second clock read.
  const auto start = Clock::now();
  auto previous = start;
  while (true) {
    call();
    const auto now = Clock::now();
    const double sample_ms = std::chrono::duration<double, std::milli>(now - previous).count();
    previous = now;
    run.samples_ms.push_back(sample_ms);
    const auto done = static_cast<int64_t>(run.samples_ms.size());
    const double elapsed_s = std::chrono::duration<double>(now - start).count();
    run.elapsed_s = elapsed_s;

    if (fixed) {
      if (done >= rule.iterations) {
        run.stopped_by = "iterations";
        break;
      }
    } else {
      if (rule.kind == StopRule::Kind::kTargetCv) running.add(sample_ms);
      if (done >= rule.min_iterations) {
        if (rule.kind == StopRule::Kind::kMinTime && elapsed_s >= rule.min_time_s) {
          run.stopped_by = "min-time";
          break;
        }
        if (rule.kind == StopRule::Kind::kTargetCv && running.cv() < rule.target_cv) {
          run.stopped_by = "target-cv";
          break;
        }
      }
      // The cap wins over min_iterations: max-time is the user's bound on the whole run.
      if (rule.kind == StopRule::Kind::kTargetCv && elapsed_s >= rule.max_time_s) {
        run.stopped_by = "max-time";
        break;
      }
      if (done >= kMaxTimedSamples) {
        run.stopped_by = "max-samples";
        break;
      }
    }
    if (progress && elapsed_s >= next_progress_s) {
      progress(done, elapsed_s);
      next_progress_s = elapsed_s + kProgressPeriodS;
      // A rare second read keeps the callback's own time (printing) out of the next sample.
      previous = Clock::now();
    }
  }
  if (progress) progress(static_cast<int64_t>(run.samples_ms.size()), run.elapsed_s);
  return run;
}

}  // namespace mopt
