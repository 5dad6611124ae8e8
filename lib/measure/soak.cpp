#include "lib/measure/soak.h"

#include <fmt/format.h>

#include <chrono>
#include <algorithm>
#include <cmath>
#include <thread>

#include "lib/errors.h"
#include "lib/measure/memory.h"
#include "lib/measure/resource_monitor.h"

namespace mopt {
using nlohmann::json;

namespace {
using Clock = std::chrono::steady_clock;
constexpr double kProgressPeriodS = 0.25;
// Sample buffer of a flat-out soak without warm-up (nothing to estimate the pace from).
constexpr size_t kInitialSamples = 1 << 16;

double window_length(const SoakSettings& s) { return s.window_s > 0 ? s.window_s : s.duration_s / kDefaultWindows; }

std::vector<double> window_samples(const SoakRun& soak, const SoakWindow& w) {
  return {soak.run.samples_ms.begin() + static_cast<std::ptrdiff_t>(w.begin),
          soak.run.samples_ms.begin() + static_cast<std::ptrdiff_t>(w.end)};
}

json window_json(const SoakRun& soak, const SoakWindow& w) {
  json out = {{"start_s", w.start_s}, {"end_s", w.end_s}, {"count", w.count()}, {"rss_end_mb", w.rss_end_mb}};
  if (w.count() == 0) return out;
  auto s = summarize_latencies(window_samples(soak, w));
  out.update({{"p50_ms", s.p50_ms}, {"p95_ms", s.p95_ms}, {"p99_ms", s.p99_ms}, {"mean_ms", s.mean_ms}});
  return out;
}

}  // namespace

std::string describe(const SoakSettings& s) {
  return fmt::format("duration={}s rate={} window={}s", s.duration_s, s.rate_per_s > 0 ? fmt::format("{}/s", s.rate_per_s) : "max",
                     window_length(s));
}

void validate(const SoakSettings& settings) {
  if (!(settings.duration_s > 0)) throw usage_error(fmt::format("--duration must be > 0 seconds, got {}", settings.duration_s));
  if (settings.rate_per_s < 0) throw usage_error(fmt::format("--rate must be > 0 calls per second, got {}", settings.rate_per_s));
  if (settings.window_s < 0 || settings.window_s > settings.duration_s) {
    throw usage_error(fmt::format("--window must be between 0 and --duration ({} s), got {}", settings.duration_s, settings.window_s));
  }
}

std::vector<SoakWindow> soak_windows(const SoakSettings& settings) {
  const double window_s = window_length(settings);
  const auto count = static_cast<size_t>(std::ceil(settings.duration_s / window_s - 1e-9));
  std::vector<SoakWindow> windows(std::max<size_t>(1, count));
  for (size_t w = 0; w < windows.size(); ++w) {
    windows[w].start_s = static_cast<double>(w) * window_s;
    windows[w].end_s = std::min(settings.duration_s, static_cast<double>(w + 1) * window_s);
  }
  return windows;
}

SoakRun run_soak(const std::function<void()>& call, int64_t warmup, const SoakSettings& settings,
                 const std::function<void(int64_t, double)>& progress) {
  validate(settings);
  if (warmup < 0) throw usage_error(fmt::format("warm-up count must be >= 0, got {}", warmup));
  const auto warmup_start = Clock::now();
  for (int64_t i = 0; i < warmup; ++i) call();
  const double warmup_call_s =
      warmup > 0 ? std::chrono::duration<double>(Clock::now() - warmup_start).count() / static_cast<double>(warmup) : 0.0;

  SoakRun soak;
  soak.settings = settings;
  soak.windows = soak_windows(settings);
  // Expected calls with a margin; written now so the pages are resident before timing starts.
  double expected = settings.rate_per_s > 0 ? settings.duration_s * settings.rate_per_s
                    : warmup_call_s > 0     ? settings.duration_s / warmup_call_s
                                            : static_cast<double>(kInitialSamples);
  expected = std::min(static_cast<double>(kMaxTimedSamples), 1.25 * expected + 16);
  auto& samples = soak.run.samples_ms;
  samples.assign(static_cast<size_t>(expected), 0.0);
  size_t done = 0;
  const auto period = settings.rate_per_s > 0 ? std::chrono::duration<double>(1.0 / settings.rate_per_s)
                                              : std::chrono::duration<double>(0);
  const auto start = Clock::now();
  size_t window = 0;
  double next_progress_s = kProgressPeriodS;
  for (int64_t i = 0;; ++i) {
    auto due = start + std::chrono::duration_cast<Clock::duration>(period * static_cast<double>(i));
    auto before = Clock::now();
    if (settings.rate_per_s > 0) {
      if (before < due) {
        std::this_thread::sleep_until(due);
        before = Clock::now();
      } else if (i > 0 && before - due > std::chrono::milliseconds(1)) {
        ++soak.late_starts;
      }
    }
    const double at_s = std::chrono::duration<double>(before - start).count();
    if (at_s >= settings.duration_s) break;
    if (done >= static_cast<size_t>(kMaxTimedSamples)) {
      soak.run.stopped_by = "max-samples";
      break;
    }
    call();
    const auto after = Clock::now();
    const double ms = std::chrono::duration<double, std::milli>(after - before).count();
    if (done < samples.size()) {
      samples[done] = ms;
    } else {
      samples.push_back(ms);  // more calls than expected: the buffer grows (and so does RSS)
    }
    // A call belongs to the window it started in; a window's RSS is read when the next begins.
    while (window + 1 < soak.windows.size() && at_s >= soak.windows[window].end_s) {
      soak.windows[window].rss_end_mb = current_rss_mb();
      soak.windows[window].end = done;
      soak.windows[++window].begin = done;
    }
    ++done;
    const double elapsed = std::chrono::duration<double>(after - start).count();
    if (progress && elapsed >= next_progress_s) {
      progress(static_cast<int64_t>(done), elapsed);
      next_progress_s = elapsed + kProgressPeriodS;
    }
  }
  samples.resize(done);
  soak.windows[window].end = done;
  for (size_t w = window; w < soak.windows.size(); ++w) {
    soak.windows[w].rss_end_mb = current_rss_mb();
    if (w > window) soak.windows[w].begin = soak.windows[w].end = done;
  }
  soak.run.elapsed_s = std::chrono::duration<double>(Clock::now() - start).count();
  if (soak.run.stopped_by.empty()) soak.run.stopped_by = "duration";
  if (done == 0) throw runtime_failure("the soak made no call: --duration is shorter than one call");
  if (progress) progress(static_cast<int64_t>(done), soak.run.elapsed_s);
  return soak;
}

json soak_json(const SoakRun& soak) {
  json windows = json::array();
  for (const auto& w : soak.windows) windows.push_back(window_json(soak, w));
  json out = {{"settings", describe(soak.settings)}, {"late_starts", soak.late_starts}, {"windows", windows}};
  // Drift: the last window that made calls against the first; positive = slower at the end.
  const SoakWindow* first = nullptr;
  const SoakWindow* last = nullptr;
  for (const auto& w : soak.windows) {
    if (w.count() == 0) continue;
    if (!first) first = &w;
    last = &w;
  }
  if (first && last) {
    auto a = summarize_latencies(window_samples(soak, *first));
    auto b = summarize_latencies(window_samples(soak, *last));
    out["drift"] = {{"p50_percent", a.p50_ms > 0 ? 100.0 * (b.p50_ms / a.p50_ms - 1.0) : 0.0},
                    {"p99_percent", a.p99_ms > 0 ? 100.0 * (b.p99_ms / a.p99_ms - 1.0) : 0.0}};
    const double growth = last->rss_end_mb - first->rss_end_mb;
    out["rss_growth_mb"] = growth;
    out["rss_growth_flagged"] = growth > kLeakMb && growth > kLeakFraction * first->rss_end_mb;
  }
  return out;
}

}  // namespace mopt
