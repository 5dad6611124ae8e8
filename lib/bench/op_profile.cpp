#include "lib/bench/op_profile.h"

#include <ATen/record_function.h>
#include <fmt/format.h>
#include <torch/csrc/autograd/profiler_kineto.h>

#include <algorithm>
#include <chrono>
#include <unordered_map>

#include "lib/errors.h"

namespace mopt {
namespace {

namespace prof = torch::autograd::profiler;

bool is_op_scope(uint8_t scope) {
  switch (static_cast<at::RecordScope>(scope)) {
    case at::RecordScope::FUNCTION:
    case at::RecordScope::KERNEL_FUNCTION_DTYPE:
    case at::RecordScope::CUSTOM_CLASS:
    case at::RecordScope::LITE_INTERPRETER:
    case at::RecordScope::STATIC_RUNTIME_OP:
      return true;
    default:
      return false;
  }
}

ProfiledEvent from_kineto(const prof::KinetoEvent& e) {
  ProfiledEvent out;
  out.name = e.name();
  out.start_us = static_cast<int64_t>(e.startUs());
  out.duration_us = static_cast<int64_t>(e.durationUs());
  out.thread = e.startThreadId();
  out.sequence = e.correlationId();
  out.is_marker = static_cast<at::RecordScope>(e.scope()) == at::RecordScope::USER_SCOPE && out.name == kIterationMarker;
  out.is_op = !out.is_marker && is_op_scope(e.scope());
  if (e.hasModuleHierarchy()) {
    std::vector<std::string> entries(e.moduleHierarchy().begin(), e.moduleHierarchy().end());
    parse_module_hierarchy(entries, out.module_path, out.module_type);
  }
  if (e.hasShapes()) out.shapes.assign(e.shapes().begin(), e.shapes().end());
  if (e.hasTypes()) out.dtypes.assign(e.dtypes().begin(), e.dtypes().end());
  out.flops = e.flops();
  return out;
}

}  // namespace

std::string module_path_text(const std::vector<std::string>& path) { return fmt::format("{}", fmt::join(path, ".")); }

void parse_module_hierarchy(const std::vector<std::string>& entries, std::vector<std::string>& path, std::string& type) {
  path.clear();
  type.clear();
  for (const auto& entry : entries) {
    // "<instance>(<Class>)::<method>" for a module method, "::<function>" for a free function.
    const auto open = entry.find('(');
    const auto close = entry.find(")::");
    if (open == std::string::npos || close == std::string::npos || close < open) continue;
    const std::string instance = entry.substr(0, open);
    const std::string cls = entry.substr(open + 1, close - open - 1);
    if (!cls.empty()) type = cls;
    if (instance.empty() || instance == "TOP" || instance == "SELF") continue;
    path.push_back(instance);
  }
}

void link_events(std::vector<ProfiledEvent>& events) {
  std::stable_sort(events.begin(), events.end(), [](const ProfiledEvent& a, const ProfiledEvent& b) {
    return a.thread != b.thread ? a.thread < b.thread : a.sequence < b.sequence;
  });
  std::vector<int> open;  // stack of enclosing records on the current thread
  uint64_t thread = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    auto& e = events[i];
    if (i == 0 || e.thread != thread) {
      open.clear();
      thread = e.thread;
    }
    // A record that started at or after a candidate's (rounded) end is not inside it.
    while (!open.empty() && e.start_us >= events[static_cast<size_t>(open.back())].end_us()) open.pop_back();
    e.parent = open.empty() ? -1 : open.back();
    e.iteration = -1;
    open.push_back(static_cast<int>(i));
  }
  // Iterations numbered in marker start order across threads (one calling thread in practice).
  std::vector<size_t> markers;
  for (size_t i = 0; i < events.size(); ++i) {
    if (events[i].is_marker) markers.push_back(i);
  }
  std::sort(markers.begin(), markers.end(), [&](size_t a, size_t b) { return events[a].start_us < events[b].start_us ||
                                                                             (events[a].start_us == events[b].start_us && events[a].sequence < events[b].sequence); });
  for (size_t k = 0; k < markers.size(); ++k) events[markers[k]].iteration = static_cast<int>(k);
  // Parents precede children after the sort, so one forward pass propagates the iteration.
  for (auto& e : events) {
    if (!e.is_marker && e.parent >= 0) e.iteration = events[static_cast<size_t>(e.parent)].iteration;
  }
}

ProfileCapture capture_op_profile(const std::function<void()>& call, int64_t iterations) {
  if (iterations < 1) throw usage_error(fmt::format("profiled iterations must be >= 1, got {}", iterations));
  const torch::profiler::impl::ProfilerConfig config(torch::profiler::impl::ProfilerState::KINETO,
                                                     /*report_input_shapes=*/true, /*profile_memory=*/false,
                                                     /*with_stack=*/false, /*with_flops=*/true, /*with_modules=*/true);
  try {
    prof::prepareProfiler(config, {torch::profiler::impl::ActivityType::CPU});
    prof::enableProfiler(config, {torch::profiler::impl::ActivityType::CPU});
  } catch (const c10::Error& e) {
    throw runtime_failure("cannot start LibTorch's profiler: " + short_torch_message(e.what()));
  }
  ProfileCapture capture;
  capture.iteration_ms.reserve(static_cast<size_t>(iterations));
  std::unique_ptr<prof::ProfilerResult> result;
  try {
    for (int64_t i = 0; i < iterations; ++i) {
      const auto start = std::chrono::steady_clock::now();
      {
        RECORD_USER_SCOPE(kIterationMarker);
        call();
      }
      capture.iteration_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
  } catch (...) {
    prof::disableProfiler();  // never leave the profiler on behind an error
    throw;
  }
  result = prof::disableProfiler();
  capture.events.reserve(result->events().size());
  for (const auto& e : result->events()) {
    if (e.deviceType() != c10::DeviceType::CPU) continue;
    capture.events.push_back(from_kineto(e));
  }
  link_events(capture.events);
  return capture;
}

}  // namespace mopt
