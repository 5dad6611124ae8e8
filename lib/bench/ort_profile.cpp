#include "lib/bench/ort_profile.h"

#include <algorithm>

#include "lib/util/strings.h"

namespace mopt {
using nlohmann::json;

namespace {

constexpr const char* kKernelSuffix = "_kernel_time";

// {"float": [1, 64, 56, 56]} entries -> shapes and dtypes, in input order.
void read_inputs(const json& args, ProfiledEvent& e) {
  if (!args.contains("input_type_shape") || !args["input_type_shape"].is_array()) return;
  for (const auto& input : args["input_type_shape"]) {
    if (!input.is_object() || input.empty()) continue;
    const auto entry = input.begin();
    const std::string dtype = entry.key();
    const json& dims = entry.value();
    std::vector<int64_t> shape;
    if (dims.is_array()) {
      for (const auto& d : dims) shape.push_back(d.is_number_integer() ? d.get<int64_t>() : -1);
    }
    e.shapes.push_back(shape);
    e.dtypes.push_back(dtype);
  }
}

}  // namespace

std::vector<ProfiledEvent> events_from_ort_trace(const json& trace, int64_t skip_runs) {
  std::vector<ProfiledEvent> events;
  if (!trace.is_array()) return events;
  std::vector<const json*> runs;
  for (const auto& e : trace) {
    if (e.value("cat", "") == "Session" && e.value("name", "") == "model_run") runs.push_back(&e);
  }
  std::sort(runs.begin(), runs.end(), [](const json* a, const json* b) { return (*a)["ts"].get<int64_t>() < (*b)["ts"].get<int64_t>(); });
  if (static_cast<int64_t>(runs.size()) <= skip_runs) return events;
  runs.erase(runs.begin(), runs.begin() + skip_runs);

  std::vector<std::pair<int64_t, int64_t>> windows;  // [start, end] of each kept run, in order
  for (size_t i = 0; i < runs.size(); ++i) {
    ProfiledEvent marker;
    marker.name = kIterationMarker;
    marker.is_marker = true;
    const int64_t start = (*runs[i])["ts"].get<int64_t>(), duration = (*runs[i])["dur"].get<int64_t>();
    marker.start_us = static_cast<double>(start);
    marker.duration_us = static_cast<double>(duration);
    marker.thread = (*runs[i]).value("tid", 0);
    marker.iteration = static_cast<int>(i);
    windows.emplace_back(start, start + duration);
    events.push_back(std::move(marker));
  }
  for (const auto& e : trace) {
    const auto name = e.value("name", "");
    if (e.value("cat", "") != "Node" || !ends_with(name, kKernelSuffix)) continue;
    const int64_t ts = e["ts"].get<int64_t>();
    auto it = std::upper_bound(windows.begin(), windows.end(), ts, [](int64_t t, const auto& w) { return t < w.first; });
    if (it == windows.begin() || ts > std::prev(it)->second) continue;  // a warm-up call's kernel
    const json args = e.value("args", json::object());
    ProfiledEvent op;
    op.name = args.value("op_name", name);
    op.is_op = true;
    op.start_us = static_cast<double>(ts);
    op.duration_us = static_cast<double>(e["dur"].get<int64_t>());
    op.thread = e.value("tid", 0);
    op.module_path = {name.substr(0, name.size() - std::string(kKernelSuffix).size())};
    op.module_type = op.name;
    op.iteration = static_cast<int>(std::distance(windows.begin(), it) - 1);
    read_inputs(args, op);
    events.push_back(std::move(op));
  }
  return events;
}

}  // namespace mopt
