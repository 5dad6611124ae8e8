#include "lib/bench/op_profile_summary.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "lib/measure/latency_stats.h"

namespace mopt {
using nlohmann::json;

namespace {

constexpr size_t kMaxShapeVariants = 3;

// Per-iteration sums of one row; p50/p99 over the iterations (an iteration where it did not run counts 0).
struct Accumulator {
  std::vector<double> per_iteration_us;
  double calls = 0;
  double self_us = 0;
  void add(int iteration, double us, size_t iterations) {
    if (per_iteration_us.empty()) per_iteration_us.assign(iterations, 0.0);
    per_iteration_us[static_cast<size_t>(iteration)] += us;
  }
  double total_us() const {
    double t = 0;
    for (double v : per_iteration_us) t += v;
    return t;
  }
  double percentile_ms(double q) const {
    auto sorted = per_iteration_us;
    std::sort(sorted.begin(), sorted.end());
    return sorted.empty() ? 0.0 : percentile_of_sorted(sorted, q) / 1000.0;
  }
};

bool has_op_ancestor(const std::vector<ProfiledEvent>& events, const ProfiledEvent& e) {
  for (int p = e.parent; p >= 0; p = events[static_cast<size_t>(p)].parent) {
    if (events[static_cast<size_t>(p)].is_op) return true;
  }
  return false;
}

}  // namespace

std::string shapes_text(const std::vector<std::vector<int64_t>>& shapes) {
  std::vector<std::string> parts;
  for (const auto& s : shapes) {
    if (!s.empty()) parts.push_back(fmt::format("{}", fmt::join(s, "x")));
  }
  return fmt::format("{}", fmt::join(parts, ", "));
}

OpProfileSummary summarize_profile(const std::vector<ProfiledEvent>& events) {
  OpProfileSummary summary;
  for (const auto& e : events) {
    if (e.is_marker) summary.iterations = std::max<int64_t>(summary.iterations, e.iteration + 1);
  }
  if (summary.iterations == 0) return summary;
  const auto n = static_cast<size_t>(summary.iterations);
  const double per = 1.0 / static_cast<double>(n);

  // Self time: an op's duration minus that of the ops directly inside it.
  std::vector<double> child_op_us(events.size(), 0.0);
  for (const auto& e : events) {
    if (e.is_op && e.parent >= 0) child_op_us[static_cast<size_t>(e.parent)] += e.duration_us;
  }

  std::map<std::string, Accumulator> layer_acc, op_acc;
  std::map<std::string, LayerRow> layers;
  std::map<std::string, OpKindRow> ops;
  std::vector<std::string> layer_order;
  double op_total_us = 0, marked_us = 0;
  for (size_t i = 0; i < events.size(); ++i) {
    const auto& e = events[i];
    if (e.iteration < 0) continue;
    const double us = e.duration_us;
    if (e.is_marker) {
      marked_us += us;
      continue;
    }
    if (!e.is_op) continue;
    auto& kind = ops[e.name];
    kind.name = e.name;
    auto& ka = op_acc[e.name];
    ka.add(e.iteration, us, n);
    ka.calls += 1;
    ka.self_us += std::max(0.0, us - child_op_us[i]);
    const auto shapes = shapes_text(e.shapes);
    if (kind.input_shapes.size() < kMaxShapeVariants &&
        std::find(kind.input_shapes.begin(), kind.input_shapes.end(), shapes) == kind.input_shapes.end()) {
      kind.input_shapes.push_back(shapes);
    }
    if (!e.dtypes.empty() && !e.dtypes[0].empty() &&
        std::find(kind.dtypes.begin(), kind.dtypes.end(), e.dtypes[0]) == kind.dtypes.end()) {
      kind.dtypes.push_back(e.dtypes[0]);
    }
    if (has_op_ancestor(events, e)) continue;

    // A top-level op: the interpreter called it, so it belongs to exactly one layer.
    op_total_us += us;
    const auto path = module_path_text(e.module_path);
    auto [it, inserted] = layers.try_emplace(path);
    auto& layer = it->second;
    if (inserted) {
      layer.path = path;
      layer.type = e.module_type;
      layer.input_shapes = shapes;
      layer_order.push_back(path);
    }
    auto& la = layer_acc[path];
    la.add(e.iteration, us, n);
    la.calls += 1;
    layer.gflop += static_cast<double>(e.flops) / 1e9;
    if (std::find(layer.ops.begin(), layer.ops.end(), e.name) == layer.ops.end()) layer.ops.push_back(e.name);
  }
  summary.op_total_ms = op_total_us * per / 1000.0;
  summary.marked_ms = marked_us * per / 1000.0;

  for (auto& [path, layer] : layers) {
    const auto& a = layer_acc[path];
    layer.calls = a.calls * per;
    layer.total_ms = a.total_us() * per / 1000.0;
    layer.share = op_total_us > 0 ? a.total_us() / op_total_us : 0.0;
    layer.p50_ms = a.percentile_ms(50);
    layer.p99_ms = a.percentile_ms(99);
    layer.gflop *= per;
    summary.layers.push_back(layer);
  }
  for (auto& [name, kind] : ops) {
    const auto& a = op_acc[name];
    kind.calls = a.calls * per;
    kind.total_ms = a.total_us() * per / 1000.0;
    kind.self_ms = a.self_us * per / 1000.0;
    kind.share = op_total_us > 0 ? a.self_us / op_total_us : 0.0;
    kind.p50_ms = a.percentile_ms(50);
    kind.p99_ms = a.percentile_ms(99);
    summary.ops.push_back(kind);
  }
  // Descending time; ties keep the order the model ran them in (layers) or by name (ops).
  std::map<std::string, size_t> first_seen;
  for (size_t i = 0; i < layer_order.size(); ++i) first_seen[layer_order[i]] = i;
  std::stable_sort(summary.layers.begin(), summary.layers.end(), [&](const LayerRow& a, const LayerRow& b) {
    return a.total_ms != b.total_ms ? a.total_ms > b.total_ms : first_seen[a.path] < first_seen[b.path];
  });
  std::stable_sort(summary.ops.begin(), summary.ops.end(),
                   [](const OpKindRow& a, const OpKindRow& b) { return a.self_ms > b.self_ms; });
  return summary;
}

json summary_json(const OpProfileSummary& summary) {
  json layers = json::array(), ops = json::array();
  for (const auto& l : summary.layers) {
    layers.push_back({{"layer", l.path.empty() ? "(top level)" : l.path},
                      {"type", l.type},
                      {"calls", l.calls},
                      {"total_ms", l.total_ms},
                      {"self_ms", l.total_ms},
                      {"share", l.share},
                      {"p50_ms", l.p50_ms},
                      {"p99_ms", l.p99_ms},
                      {"ops", l.ops},
                      {"input_shapes", l.input_shapes},
                      {"gflop", l.gflop},
                      {"gflops_per_s", l.total_ms > 0 ? l.gflop / (l.total_ms / 1000.0) : 0.0}});
  }
  for (const auto& o : summary.ops) {
    ops.push_back({{"op", o.name},
                   {"calls", o.calls},
                   {"total_ms", o.total_ms},
                   {"self_ms", o.self_ms},
                   {"share", o.share},
                   {"p50_ms", o.p50_ms},
                   {"p99_ms", o.p99_ms},
                   {"input_shapes", o.input_shapes},
                   {"dtypes", o.dtypes}});
  }
  return {{"iterations", summary.iterations},
          {"op_total_ms", summary.op_total_ms},
          {"marked_ms", summary.marked_ms},
          {"layers", layers},
          {"ops", ops}};
}

}  // namespace mopt
