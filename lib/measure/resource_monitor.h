#pragma once
// CPU utilisation and a sampled RSS timeline of this process over one bench row, for budgets such
// as "under 25% CPU, under 100 MB" that edge devices set.
#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace mopt {

/// User + system CPU time over wall time.
struct CpuUsage {
  double user_s = 0, system_s = 0, wall_s = 0;
  int logical_cores = 1;
  double percent_one_core() const { return wall_s > 0 ? 100.0 * (user_s + system_s) / wall_s : 0.0; }
  double percent_all_cores() const { return percent_one_core() / static_cast<double>(logical_cores); }
};

/// Resident set size sampled over a phase.
struct RssTimeline {
  std::vector<std::pair<double, double>> samples;  ///< (seconds since start, MiB)
  double first_inference_mb = 0;                   ///< right after the phase's first call
  double peak_mb() const;
  double mean_mb() const;
  double end_mb() const { return samples.empty() ? 0.0 : samples.back().second; }
};

/// Samples RSS on a background thread (period `sample_ms`) and CPU time between start() and stop().
/// The sampler reads /proc/self/statm once per period, far below the noise of any timing.
class ResourceMonitor {
 public:
  explicit ResourceMonitor(double sample_ms = 20);
  ~ResourceMonitor();
  ResourceMonitor(const ResourceMonitor&) = delete;
  ResourceMonitor& operator=(const ResourceMonitor&) = delete;

  void start();
  /// Records the RSS after the first call of the phase.
  void mark_first_inference();
  void stop();

  const CpuUsage& cpu() const { return cpu_; }
  const RssTimeline& rss() const { return rss_; }

 private:
  void sample();
  double sample_ms_;
  std::chrono::steady_clock::time_point start_;
  double start_user_s_ = 0, start_system_s_ = 0;
  CpuUsage cpu_;
  RssTimeline rss_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool running_ = false;
  std::thread sampler_;
};

/// This process's user and system CPU seconds so far (all threads).
std::pair<double, double> process_cpu_seconds();

/// {"percent": of all cores, "percent_one_core", "user_s", "system_s", "wall_s", "logical_cores"}
nlohmann::json cpu_json(const CpuUsage& cpu);

/// {"peak_mb","mean_mb","first_inference_mb","end_mb","sample_ms","samples":[[s, MiB], ...] (at most 50)}
nlohmann::json rss_json(const RssTimeline& rss, double sample_ms);

}  // namespace mopt
