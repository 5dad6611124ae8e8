#include "lib/bench/op_profile.h"

#include <ATen/record_function.h>
#include <c10/util/Exception.h>
#include <fmt/format.h>
#include <torch/csrc/autograd/profiler_kineto.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <unordered_map>

#include "lib/bench/profile_instrumentation.h"
#include "lib/errors.h"
#include "lib/measure/scope_recorder.h"
#include "lib/runtime/torch_warnings.h"

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

// Marker and op kind from a record's scope: user scopes are iteration markers or the oneDNN prims
// that record_mkldnn_prims() wrapped.
void classify(ProfiledEvent& out, uint8_t scope) {
  const bool user = static_cast<at::RecordScope>(scope) == at::RecordScope::USER_SCOPE;
  out.is_marker = user && out.name == kIterationMarker;
  out.is_op = !out.is_marker && (is_op_scope(scope) || (user && is_recorded_prim(out.name)));
}

ProfiledEvent from_kineto(const prof::KinetoEvent& e) {
  ProfiledEvent out;
  out.name = e.name();
  out.start_us = static_cast<double>(e.startNs()) / 1e3;
  out.duration_us = static_cast<double>(e.durationNs()) / 1e3;
  out.thread = e.startThreadId();
  out.sequence = e.correlationId();
  classify(out, e.scope());
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
    // A record that started at or after a candidate's (rounded) end is not inside it; except that
    // an iteration marker keeps an op starting in its last microsecond (a call's final dequantize):
    // the profiled loop runs nothing between two markers, so it can only be the call's own.
    while (!open.empty()) {
      const auto& candidate = events[static_cast<size_t>(open.back())];
      const bool marker_boundary = candidate.is_marker && !e.is_marker && e.start_us == candidate.end_us();
      if (e.start_us < candidate.end_us() || marker_boundary) break;
      open.pop_back();
    }
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

namespace {

// Times `iterations` calls with the lean scope recorder; returns linked events and each call's
// steady-clock time.
std::vector<ProfiledEvent> run_timed(const std::function<void()>& call, int64_t iterations, std::vector<double>& iteration_ms) {
  std::vector<RecordedScope> records;
  {
    ScopeRecorder recorder;
    for (int64_t i = 0; i < iterations; ++i) {
      const auto start = std::chrono::steady_clock::now();
      {
        RECORD_USER_SCOPE(kIterationMarker);
        call();
      }
      iteration_ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
      if (i == 0) recorder.reserve(recorder.size() * static_cast<size_t>(iterations) * 5 / 4);  // the first call as a guide
    }
    records = recorder.stop();
  }
  const auto thread = at::RecordFunction::currentThreadId();
  std::vector<ProfiledEvent> events;
  events.reserve(records.size());
  for (size_t i = 0; i < records.size(); ++i) {
    auto& r = records[i];
    ProfiledEvent out;
    out.name = std::move(r.name);
    out.start_us = static_cast<double>(r.start_ns) / 1000.0;
    out.duration_us = static_cast<double>(r.end_ns - r.start_ns) / 1000.0;
    out.thread = thread;
    out.sequence = i;
    classify(out, static_cast<uint8_t>(r.scope));
    events.push_back(std::move(out));
  }
  link_events(events);
  return events;
}

// The profiler's own flop-counting complaints ("Failed to save extra arguments for flops
// computation of op aten::mul, input[0] must be a tensor", "Failed to compute flops for op
// aten::conv2d because it requires padding, ...": 144 lines of glog noise on MaxViT; such ops just
// count no flops), dropped while it runs; every other warning passes.
bool is_flops_warning(const std::string& msg) {
  return msg.rfind("Failed to", 0) == 0 && msg.find(" flops ") != std::string::npos;
}

// Runs `iterations` calls under LibTorch's profiler with `config`; returns linked events and, when
// asked, each call's steady-clock time.
std::vector<ProfiledEvent> run_profiled(const std::function<void()>& call, int64_t iterations,
                                        const torch::profiler::impl::ProfilerConfig& config, std::vector<double>* iteration_ms) {
  try {
    prof::prepareProfiler(config, {torch::profiler::impl::ActivityType::CPU});
    prof::enableProfiler(config, {torch::profiler::impl::ActivityType::CPU});
  } catch (const c10::Error& e) {
    throw runtime_failure("cannot start LibTorch's profiler: " + short_torch_message(e.what()));
  }
  WarningFilter filter(is_flops_warning);
  c10::WarningUtils::WarningHandlerGuard quiet_flops(&filter);
  try {
    for (int64_t i = 0; i < iterations; ++i) {
      const auto start = std::chrono::steady_clock::now();
      {
        RECORD_USER_SCOPE(kIterationMarker);
        call();
      }
      if (iteration_ms) {
        iteration_ms->push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
      }
    }
  } catch (...) {
    prof::disableProfiler();  // never leave the profiler on behind an error
    throw;
  }
  auto result = prof::disableProfiler();
  std::vector<ProfiledEvent> events;
  events.reserve(result->events().size());
  for (const auto& e : result->events()) {
    if (e.deviceType() != c10::DeviceType::CPU) continue;
    events.push_back(from_kineto(e));
  }
  link_events(events);
  return events;
}

torch::profiler::impl::ProfilerConfig profiler_config(bool details) {
  return torch::profiler::impl::ProfilerConfig(torch::profiler::impl::ProfilerState::KINETO, /*report_input_shapes=*/details,
                                               /*profile_memory=*/false, /*with_stack=*/false, /*with_flops=*/details,
                                               /*with_modules=*/details);
}

}  // namespace

ProfileCapture capture_op_profile(const std::function<void()>& call, int64_t iterations) {
  if (iterations < 1) throw usage_error(fmt::format("profiled iterations must be >= 1, got {}", iterations));
  // Timings come from a lean pass (scope_recorder.h): LibTorch's profiler costs about as much per
  // record as a small model's ops take, more with the module hierarchy built as strings. One call
  // under LibTorch's profiler with module hierarchy, input shapes and FLOP estimates on labels
  // them, record by record.
  ProfileCapture capture;
  capture.iteration_ms.reserve(static_cast<size_t>(iterations));
  capture.events = run_timed(call, iterations, capture.iteration_ms);
  const auto detail = run_profiled(call, 1, profiler_config(true), nullptr);
  // The k-th record named X in a timed call gets the labels of the k-th X in the labelling call:
  // kernels may call a different number of helper ops (buffer resizes) from one call to the next,
  // and a record in its parent's last microsecond may nest differently, but the interpreter's ops
  // come in the same order. Records without a counterpart take their parent's module.
  std::map<std::string, std::vector<size_t>> reference;
  for (size_t i = 0; i < detail.size(); ++i) {
    if (detail[i].iteration == 0 && detail[i].is_op) reference[detail[i].name].push_back(i);
  }
  if (!reference.empty()) {
    std::map<std::pair<int, std::string>, size_t> seen;
    for (auto& e : capture.events) {
      if (!e.is_op || e.iteration < 0) continue;
      const auto it = reference.find(e.name);
      const size_t k = seen[{e.iteration, e.name}]++;
      if (it != reference.end() && k < it->second.size()) {
        const auto& d = detail[it->second[k]];
        e.module_path = d.module_path;
        e.module_type = d.module_type;
        e.shapes = d.shapes;
        e.dtypes = d.dtypes;
        e.flops = d.flops;
      } else if (e.parent >= 0) {
        const auto& p = capture.events[static_cast<size_t>(e.parent)];
        e.module_path = p.module_path;
        e.module_type = p.module_type;
      }
    }
    capture.labelled_by = "a second profiled call with module hierarchy, input shapes and FLOPs";
    return capture;
  }
  // Nothing to label from: one pass with everything on, at its cost.
  capture.iteration_ms.clear();
  capture.events = run_profiled(call, iterations, profiler_config(true), &capture.iteration_ms);
  capture.labelled_by = "the timed calls themselves (the labelling call recorded no ops)";
  return capture;
}

}  // namespace mopt
