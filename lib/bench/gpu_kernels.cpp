#include "lib/bench/gpu_kernels.h"

#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <torch/csrc/autograd/profiler_kineto.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include "lib/bench/gpu_hints.h"
#include "lib/errors.h"
#include "lib/util/atomic_file.h"

namespace mopt {
namespace prof = torch::autograd::profiler;
using nlohmann::json;

json gpu_kernel_summary(const std::vector<GpuActivity>& activities, const std::vector<double>& call_ms) {
  const double calls = static_cast<double>(std::max<size_t>(call_ms.size(), 1));
  double wall_ms = 0;
  for (double ms : call_ms) wall_ms += ms;
  // Busy time: the union of the activities' intervals (kernels on several streams may overlap).
  std::vector<std::pair<double, double>> intervals;
  for (const auto& a : activities) intervals.emplace_back(a.start_us, a.start_us + a.duration_us);
  std::sort(intervals.begin(), intervals.end());
  double busy_us = 0, open_start = 0, open_end = -1;
  for (const auto& [start, end] : intervals) {
    if (start > open_end) {
      if (open_end > open_start) busy_us += open_end - open_start;
      open_start = start, open_end = end;
    } else {
      open_end = std::max(open_end, end);
    }
  }
  if (open_end > open_start) busy_us += open_end - open_start;
  struct Totals {
    int64_t calls = 0;
    double us = 0;
  };
  std::map<std::string, Totals> by_name;
  double total_us = 0;
  for (const auto& a : activities) {
    auto& t = by_name[a.name];
    t.calls += 1, t.us += a.duration_us, total_us += a.duration_us;
  }
  std::map<std::string, Totals> by_op;
  for (const auto& a : activities) {
    auto& t = by_op[a.launched_by.empty() ? std::string("(unattributed)") : a.launched_by];
    t.calls += 1, t.us += a.duration_us;
  }
  const auto by_time = [](const std::map<std::string, Totals>& totals) {
    std::vector<std::pair<std::string, Totals>> ranked(totals.begin(), totals.end());
    std::sort(ranked.begin(), ranked.end(), [](const auto& a, const auto& b) { return a.second.us > b.second.us; });
    return ranked;
  };
  json kernels = json::array();
  for (const auto& [name, t] : by_time(by_name)) {
    kernels.push_back({{"name", name}, {"calls", t.calls}, {"total_ms", t.us / 1e3},
                       {"share", total_us > 0 ? t.us / total_us : 0.0}, {"mean_us", t.us / static_cast<double>(t.calls)}});
  }
  json ops = json::array();
  for (const auto& [op, t] : by_time(by_op)) {
    ops.push_back({{"op", op}, {"launches_per_call", static_cast<double>(t.calls) / calls},
                   {"gpu_ms_per_call", t.us / 1e3 / calls}, {"share", total_us > 0 ? t.us / total_us : 0.0}});
  }
  const double busy_share = wall_ms > 0 ? std::min(1.0, busy_us / 1e3 / wall_ms) : 0.0;
  const double launches = static_cast<double>(activities.size()) / calls;
  std::vector<Hint> hints;
  if (!activities.empty() && 100 * busy_share < kGpuBusyFloorPercent) {
    hints.push_back({"launch-bound",
                     fmt::format("the GPU ran kernels or copies {:.0f}% of each call ({} per call, {:.1f} us each on "
                                 "average): the rest is the host launching them; --cuda-graph replays the call without "
                                 "launches, and a larger batch gives each launch more work",
                                 100 * busy_share, launches, busy_us / static_cast<double>(activities.size())),
                     {{"gpu_busy_share", busy_share}, {"launches_per_call", launches}}});
  }
  return {{"iterations", call_ms.size()},
          {"wall_ms_per_call", wall_ms / calls},
          {"gpu_ms_per_call", busy_us / 1e3 / calls},
          {"gpu_busy_share", busy_share},
          {"launches_per_call", launches},
          {"kernels", kernels},
          {"by_op", ops},
          {"hints", hints_json(hints)}};
}

json profile_gpu_kernels(const std::function<void()>& call, int64_t iterations, const std::filesystem::path& trace_path) {
  const torch::profiler::impl::ProfilerConfig config(torch::profiler::impl::ProfilerState::KINETO);
  const std::set<torch::profiler::impl::ActivityType> activities = {torch::profiler::impl::ActivityType::CPU,
                                                                    torch::profiler::impl::ActivityType::CUDA};
  try {
    prof::prepareProfiler(config, activities);
    prof::enableProfiler(config, activities);
  } catch (const c10::Error& e) {
    throw runtime_failure("cannot start LibTorch's profiler with CUDA activities: " + short_torch_message(e.what()));
  }
  std::vector<double> call_ms;
  try {
    for (int64_t i = 0; i < iterations; ++i) {
      const auto start = std::chrono::steady_clock::now();
      call();
      call_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
  } catch (...) {
    prof::disableProfiler();  // never leave the profiler on behind an error
    throw;
  }
  const auto result = prof::disableProfiler();
  // A kernel's linked correlation id is that of the op that launched it (how PyTorch's own profiler
  // tables attribute device time to ops).
  std::map<uint64_t, std::string> op_by_correlation;
  for (const auto& e : result->events()) {
    if (e.deviceType() == c10::DeviceType::CPU && e.linkedCorrelationId() == 0) op_by_correlation[e.correlationId()] = e.name();
  }
  std::vector<GpuActivity> gpu;
  json trace_events = json::array();
  for (const auto& e : result->events()) {
    const double start_us = static_cast<double>(e.startNs()) / 1e3, duration_us = static_cast<double>(e.durationNs()) / 1e3;
    const bool on_gpu = e.deviceType() == c10::DeviceType::CUDA;
    if (on_gpu) {
      const auto op = op_by_correlation.find(e.linkedCorrelationId());
      gpu.push_back({e.name(), start_us, duration_us, e.deviceResourceId(),
                     op == op_by_correlation.end() ? std::string() : op->second});
    }
    if (trace_path.empty()) continue;
    trace_events.push_back({{"name", e.name()}, {"ph", "X"}, {"ts", start_us}, {"dur", duration_us},
                            {"pid", on_gpu ? fmt::format("GPU {}", e.deviceIndex()) : std::string("CPU")},
                            {"tid", on_gpu ? fmt::format("stream {}", e.deviceResourceId()) : fmt::format("thread {}", e.startThreadId())},
                            {"cat", on_gpu ? "gpu" : "cpu_op"}});
  }
  auto summary = gpu_kernel_summary(gpu, call_ms);
  if (!trace_path.empty()) {
    write_text_atomically(trace_path, json({{"traceEvents", trace_events}, {"displayTimeUnit", "ms"}}).dump());
    summary["trace"] = {{"path", trace_path.string()}};
  }
  return summary;
}

}  // namespace mopt
