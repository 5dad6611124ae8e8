#include "lib/bench/op_profile_report.h"

#include <algorithm>

#include "lib/bench/bottleneck_hints.h"
#include "lib/bench/chrome_trace.h"
#include "lib/bench/op_profile.h"
#include "lib/bench/op_profile_summary.h"
#include "lib/bench/ort_profile.h"
#include "lib/measure/latency_stats.h"
#include "lib/util/atomic_file.h"
#include "lib/util/log.h"

namespace mopt {
using nlohmann::json;

json profile_from_events(const std::vector<ProfiledEvent>& events, const std::vector<double>& iteration_ms,
                         const OpProfileRequest& request, const std::string& labelled_by) {
  auto summary = summarize_profile(events);
  auto out = summary_json(summary);
  const double profiled_p50 = summarize_latencies(iteration_ms).p50_ms;
  out["overhead"] = {{"profiled_p50_ms", profiled_p50},
                     {"unprofiled_p50_ms", request.unprofiled_p50_ms},
                     {"ratio", request.unprofiled_p50_ms > 0 ? profiled_p50 / request.unprofiled_p50_ms : 0.0}};
  out["labelled_by"] = labelled_by;
  out["hints"] = hints_json(bottleneck_hints(summary, events, request.macs));
  return out;
}

json profile_ops(const std::function<void()>& call, const OpProfileRequest& request) {
  const int64_t iterations = std::clamp<int64_t>(request.iterations, 1, kMaxProfiledIterations);
  log_info("profiling {} iteration(s) ...", iterations);
  auto capture = capture_op_profile(call, iterations);
  auto out = profile_from_events(capture.events, capture.iteration_ms, request, capture.labelled_by);
  if (!request.trace_path.empty()) {
    const int64_t traced = std::min(iterations, kTraceIterations);
    write_text_atomically(request.trace_path, chrome_trace(capture.events, traced).dump());
    out["trace"] = {{"path", request.trace_path.string()}, {"iterations", traced}};
  }
  return out;
}

json onnxruntime_op_profile(const OrtProfile& profile, const OpProfileRequest& request) {
  auto events = events_from_ort_trace(profile.trace, profile.warmup_runs);
  auto out = profile_from_events(events, profile.iteration_ms, request,
                                 "ONNX Runtime session profiling: one row per graph node after ORT's fusions");
  if (!request.trace_path.empty()) {  // ORT's own trace is already in Chrome's format
    write_text_atomically(request.trace_path, profile.trace.dump());
    out["trace"] = {{"path", request.trace_path.string()}, {"iterations", static_cast<int64_t>(profile.iteration_ms.size())},
                    {"written_by", "onnxruntime"}};
  }
  return out;
}

}  // namespace mopt
