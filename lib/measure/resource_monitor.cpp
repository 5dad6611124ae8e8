#include "lib/measure/resource_monitor.h"

#include <sys/resource.h>

#include <algorithm>
#include <tuple>

#include "lib/measure/cpu_info.h"
#include "lib/measure/memory.h"

namespace mopt {
using nlohmann::json;

namespace {
constexpr size_t kMaxReportedSamples = 50;
double seconds(const timeval& t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; }
}  // namespace

std::pair<double, double> process_cpu_seconds() {
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) != 0) return {0, 0};
  return {seconds(usage.ru_utime), seconds(usage.ru_stime)};
}

double RssTimeline::peak_mb() const {
  double peak = first_inference_mb;
  for (const auto& s : samples) peak = std::max(peak, s.second);
  return peak;
}

double RssTimeline::mean_mb() const {
  if (samples.empty()) return 0;
  double sum = 0;
  for (const auto& s : samples) sum += s.second;
  return sum / static_cast<double>(samples.size());
}

ResourceMonitor::ResourceMonitor(double sample_ms) : sample_ms_(sample_ms) {}

ResourceMonitor::~ResourceMonitor() {
  if (sampler_.joinable()) stop();
}

void ResourceMonitor::sample() {
  const double t = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  rss_.samples.emplace_back(t, current_rss_mb());
}

void ResourceMonitor::start() {
  rss_ = RssTimeline{};
  start_ = std::chrono::steady_clock::now();
  std::tie(start_user_s_, start_system_s_) = process_cpu_seconds();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    running_ = true;
    sample();
  }
  sampler_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mutex_);
    while (!wake_.wait_for(lock, std::chrono::duration<double, std::milli>(sample_ms_), [this] { return !running_; })) sample();
  });
}

void ResourceMonitor::mark_first_inference() { rss_.first_inference_mb = current_rss_mb(); }

void ResourceMonitor::stop() {
  const auto [user_s, system_s] = process_cpu_seconds();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    running_ = false;
    sample();
  }
  wake_.notify_all();
  if (sampler_.joinable()) sampler_.join();
  cpu_.user_s = user_s - start_user_s_;
  cpu_.system_s = system_s - start_system_s_;
  cpu_.wall_s = wall;
  cpu_.logical_cores = std::max(1, cpu_info().logical_cores);
}

json cpu_json(const CpuUsage& cpu) {
  return {{"percent", cpu.percent_all_cores()}, {"percent_one_core", cpu.percent_one_core()}, {"user_s", cpu.user_s},
          {"system_s", cpu.system_s}, {"wall_s", cpu.wall_s}, {"logical_cores", cpu.logical_cores}};
}

json rss_json(const RssTimeline& rss, double sample_ms) {
  json samples = json::array();
  const size_t n = rss.samples.size();
  const size_t stride = std::max<size_t>(1, (n + kMaxReportedSamples - 1) / kMaxReportedSamples);
  for (size_t i = 0; i < n; i += stride) samples.push_back({rss.samples[i].first, rss.samples[i].second});
  if (n > 0 && (n - 1) % stride != 0) samples.push_back({rss.samples.back().first, rss.samples.back().second});
  return {{"peak_mb", rss.peak_mb()}, {"mean_mb", rss.mean_mb()}, {"first_inference_mb", rss.first_inference_mb},
          {"end_mb", rss.end_mb()}, {"sample_ms", sample_ms}, {"samples", samples}};
}

}  // namespace mopt
