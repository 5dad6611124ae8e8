#include "lib/bench/chrome_trace.h"

#include <unistd.h>

#include <algorithm>
#include <limits>
#include <map>

#include "lib/bench/op_profile_summary.h"

namespace mopt {
using nlohmann::json;

namespace {

struct Span {
  double begin = 0, end = 0;  // microseconds
};

json complete_event(const std::string& name, const char* cat, const Span& s, double origin, int tid, json args) {
  return {{"name", name}, {"cat", cat}, {"ph", "X"}, {"ts", s.begin - origin}, {"dur", std::max(0.0, s.end - s.begin)},
          {"pid", static_cast<int>(getpid())}, {"tid", tid}, {"args", std::move(args)}};
}

bool top_level_op(const std::vector<ProfiledEvent>& events, size_t i) {
  if (!events[i].is_op) return false;
  for (int p = events[i].parent; p >= 0; p = events[static_cast<size_t>(p)].parent) {
    if (events[static_cast<size_t>(p)].is_op) return false;
  }
  return true;
}

}  // namespace

json chrome_trace(const std::vector<ProfiledEvent>& events, int64_t max_iterations) {
  // Clip every record to its parent (parents come first in linked order).
  std::vector<Span> clip(events.size());
  double origin = std::numeric_limits<double>::infinity();
  for (size_t i = 0; i < events.size(); ++i) {
    const auto& e = events[i];
    clip[i] = {e.start_us, e.end_us()};
    if (e.parent >= 0) {
      const auto& p = clip[static_cast<size_t>(e.parent)];
      clip[i].begin = std::clamp(clip[i].begin, p.begin, p.end);
      clip[i].end = std::clamp(clip[i].end, clip[i].begin, p.end);
    }
    if (e.iteration >= 0 && e.iteration < max_iterations) origin = std::min(origin, clip[i].begin);
  }
  if (origin == std::numeric_limits<double>::infinity()) origin = 0;

  std::map<uint64_t, int> tids;
  auto tid_of = [&](uint64_t thread) { return tids.emplace(thread, static_cast<int>(tids.size()) + 1).first->second; };

  json trace_events = json::array();
  // Module spans: per thread and iteration, a stack of open module-path prefixes over the top-level ops.
  struct Open {
    std::string path;
    std::string type;
    Span span;
  };
  std::vector<Open> open;
  int open_iteration = -1;
  uint64_t open_thread = 0;
  auto close_to = [&](size_t depth) {
    while (open.size() > depth) {
      const auto& o = open.back();
      trace_events.push_back(complete_event(o.type.empty() ? o.path : o.path + " (" + o.type + ")", "module", o.span, origin,
                                            tid_of(open_thread), {{"module", o.path}, {"iteration", open_iteration}}));
      open.pop_back();
    }
  };

  for (size_t i = 0; i < events.size(); ++i) {
    const auto& e = events[i];
    if (e.iteration < 0 || e.iteration >= max_iterations) continue;
    const int tid = tid_of(e.thread);
    if (e.is_marker) {
      trace_events.push_back(complete_event("iteration " + std::to_string(e.iteration), "iteration", clip[i], origin, tid,
                                            {{"iteration", e.iteration}}));
      continue;
    }
    if (!e.is_op) {
      trace_events.push_back(complete_event(e.name, "torchscript", clip[i], origin, tid, {{"module", module_path_text(e.module_path)}}));
      continue;
    }
    trace_events.push_back(complete_event(e.name, "cpu_op", clip[i], origin, tid,
                                          {{"module", module_path_text(e.module_path)},
                                           {"module_type", e.module_type},
                                           {"input_shapes", shapes_text(e.shapes)},
                                           {"iteration", e.iteration}}));
    if (!top_level_op(events, i)) continue;
    if (e.iteration != open_iteration || e.thread != open_thread) {
      close_to(0);
      open_iteration = e.iteration;
      open_thread = e.thread;
    }
    // Keep the open prefixes this op shares, open the rest of its path.
    size_t common = 0;
    std::string prefix;
    while (common < open.size() && common < e.module_path.size()) {
      prefix = common == 0 ? e.module_path[0] : prefix + "." + e.module_path[common];
      if (open[common].path != prefix) break;
      ++common;
    }
    close_to(common);
    for (size_t d = open.size(); d < e.module_path.size(); ++d) {
      std::string path = d == 0 ? e.module_path[0] : open.back().path + "." + e.module_path[d];
      open.push_back({path, d + 1 == e.module_path.size() ? e.module_type : "", clip[i]});
    }
    for (auto& o : open) o.span.end = std::max(o.span.end, clip[i].end);
  }
  close_to(0);
  std::stable_sort(trace_events.begin(), trace_events.end(), [](const json& a, const json& b) {
    return a["ts"].get<double>() != b["ts"].get<double>() ? a["ts"].get<double>() < b["ts"].get<double>()
                                                          : a["dur"].get<double>() > b["dur"].get<double>();
  });
  return {{"traceEvents", trace_events},
          {"displayTimeUnit", "ms"},
          {"otherData", {{"producer", "mopt bench --trace"}, {"iterations", max_iterations}, {"clock", "microseconds, from the first traced record"}}}};
}

}  // namespace mopt
