#include "lib/bench/bottleneck_hints.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>

#include "lib/measure/memory.h"
#include "lib/model/graph_walk.h"

namespace mopt {
using nlohmann::json;

namespace {

constexpr size_t kTopLayers = 3;
constexpr size_t kListed = 5;
// Below this share of op time in multiply-accumulate layers, the time goes to data movement.
constexpr double kComputeBoundShare = 0.5;
// A MAC layer achieving less than this fraction of the model's best layer's GFLOP/s is starved.
constexpr double kStarvedFraction = 0.25;
constexpr double kStarvedMinShare = 0.05;

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool is_quantized_dtype(const std::string& dtype) { return lower(dtype).find("qint") != std::string::npos ||
                                                           lower(dtype).find("quint") != std::string::npos; }
bool is_fp32_dtype(const std::string& dtype) { return lower(dtype) == "float"; }

// LibTorch's aten::/quantized:: names and ONNX Runtime's op types (Conv, QLinearConv, Gemm, LSTM...).
bool does_macs(const std::string& op) {
  const auto name = lower(op);
  for (const char* key : {"conv", "linear", "addmm", "matmul", "gemm", "::mm", "bmm", "multi_head_attention", "attention",
                          "_transformer_encoder", "lstm", "gru"}) {
    if (name.find(key) != std::string::npos) return true;
  }
  return false;
}

// An ONNX Runtime INT8 kernel (its QDQ fusions and dynamic-quantization ops).
bool is_ort_int8_kernel(const std::string& op) {
  return op.rfind("QLinear", 0) == 0 || op == "QGemm" || op == "QAttention" || op.rfind("DynamicQuantize", 0) == 0 ||
         op == "MatMulInteger" || op == "MatMulIntegerToFloat" || op == "ConvInteger";
}

std::string layer_label(const std::string& path) { return path.empty() ? "(top level)" : path; }

std::string percent(double share) { return fmt::format("{:.1f}%", 100.0 * share); }

bool is_top_level(const std::vector<ProfiledEvent>& events, const ProfiledEvent& e) {
  for (int p = e.parent; p >= 0; p = events[static_cast<size_t>(p)].parent) {
    if (events[static_cast<size_t>(p)].is_op) return false;
  }
  return true;
}

// Time per inference of top-level ops matching `pick`, per layer (descending) and in total.
struct Grouped {
  double calls = 0;
  double ms = 0;
  std::vector<std::pair<std::string, double>> by_layer;  ///< "layer (op)" -> ms per inference
};

template <typename Pick>
Grouped group_top_level(const std::vector<ProfiledEvent>& events, int64_t iterations, Pick pick) {
  Grouped g;
  std::map<std::string, double> ms;
  for (const auto& e : events) {
    if (!e.is_op || e.iteration < 0 || !pick(e) || !is_top_level(events, e)) continue;
    const double per = e.duration_us / 1000.0 / static_cast<double>(iterations);
    g.calls += 1.0 / static_cast<double>(iterations);
    g.ms += per;
    ms[fmt::format("{} ({})", layer_label(module_path_text(e.module_path)), e.name)] += per;
  }
  g.by_layer.assign(ms.begin(), ms.end());
  std::stable_sort(g.by_layer.begin(), g.by_layer.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  return g;
}

std::string top_list(const std::vector<std::pair<std::string, double>>& items, double total_ms) {
  std::vector<std::string> parts;
  for (size_t i = 0; i < items.size() && i < kListed; ++i) {
    parts.push_back(fmt::format("{} {:.3f} ms ({})", items[i].first, items[i].second,
                                percent(total_ms > 0 ? items[i].second / total_ms : 0)));
  }
  return fmt::format("{}", fmt::join(parts, ", "));
}

json list_json(const std::vector<std::pair<std::string, double>>& items) {
  json out = json::array();
  for (size_t i = 0; i < items.size() && i < kListed; ++i) out.push_back({{"where", items[i].first}, {"ms", items[i].second}});
  return out;
}

json starved_json(const std::vector<std::pair<std::string, double>>& items) {
  json out = json::array();
  for (const auto& [layer, g] : items) out.push_back({{"layer", layer}, {"gflops_per_s", g}});
  return out;
}

}  // namespace

std::optional<Hint> allocator_hint(double profiled, double unprofiled) {
  const bool far_apart = profiled > 2 * unprofiled || unprofiled > 2 * profiled;
  if (!far_apart || faulted_mb(std::abs(profiled - unprofiled)) <= kFreshMemoryHintMb) return std::nullopt;
  return Hint{"allocator-changed",
              fmt::format("the profiled calls made {:.0f} page faults each, the unprofiled ones {:.0f}: the profiler changed how "
                          "the C allocator reuses memory, so the profile's times are not the unprofiled ones (--malloc-tuned "
                          "takes the allocator out of both)", profiled, unprofiled),
              {{"profiled_page_faults_per_call", profiled}, {"unprofiled_page_faults_per_call", unprofiled}}};
}

bool is_layout_reorder(const std::string& op) {
  // ONNX Runtime's NCHWc layout transformer inserts ReorderInput/ReorderOutput around blocked convs.
  return op == "aten::to_dense" || op == "aten::to_mkldnn" || op == "aten::contiguous" || op == "ReorderInput" ||
         op == "ReorderOutput";
}

std::vector<Hint> bottleneck_hints(const OpProfileSummary& summary, const std::vector<ProfiledEvent>& events, int64_t macs) {
  std::vector<Hint> hints;
  const double total = summary.op_total_ms;
  if (summary.iterations == 0 || total <= 0) return hints;

  // Where the time is.
  {
    Hint h{"top-layers", "", json::object()};
    std::vector<std::string> parts;
    double share = 0;
    json layers = json::array();
    for (size_t i = 0; i < summary.layers.size() && i < kTopLayers; ++i) {
      const auto& l = summary.layers[i];
      share += l.share;
      parts.push_back(fmt::format("{} ({}) {}", layer_label(l.path), l.type, percent(l.share)));
      layers.push_back({{"layer", layer_label(l.path)}, {"type", l.type}, {"share", l.share}, {"ms", l.total_ms}});
    }
    h.message = fmt::format("{} of {} layers hold {} of op time: {}", parts.size(), summary.layers.size(), percent(share),
                            fmt::join(parts, ", "));
    h.figures = {{"layers", layers}, {"share", share}};
    hints.push_back(h);
  }

  // INT8 boundaries: each quantize/dequantize is a full pass over an activation.
  const auto boundaries = group_top_level(events, summary.iterations, [](const ProfiledEvent& e) { return is_quantize_boundary(e.name); });
  if (boundaries.calls > 0) {
    double quantize = 0, dequantize = 0;
    for (const auto& o : summary.ops) {
      if (o.name == "aten::dequantize" || o.name == "DequantizeLinear") dequantize += o.calls;
      else if (is_quantize_boundary(o.name)) quantize += o.calls;
    }
    hints.push_back({"quantize-boundaries",
                     fmt::format("{:.0f} quantize and {:.0f} dequantize calls per inference take {:.3f} ms, {} of op time; "
                                 "most in: {}",
                                 quantize, dequantize, boundaries.ms, percent(boundaries.ms / total), top_list(boundaries.by_layer, total)),
                     {{"quantize_calls", quantize}, {"dequantize_calls", dequantize}, {"ms", boundaries.ms},
                      {"share", boundaries.ms / total}, {"top", list_json(boundaries.by_layer)}}});
  }
  const auto reorders = group_top_level(events, summary.iterations, [](const ProfiledEvent& e) { return is_layout_reorder(e.name); });
  if (reorders.calls > 0) {
    hints.push_back({"layout-reorders",
                     fmt::format("{:.0f} layout reorders per inference (to_dense/to_mkldnn/contiguous, ORT ReorderInput/Output) take {:.3f} ms, {} of op time; most in: {}",
                                 reorders.calls, reorders.ms, percent(reorders.ms / total), top_list(reorders.by_layer, total)),
                     {{"calls", reorders.calls}, {"ms", reorders.ms}, {"share", reorders.ms / total}, {"top", list_json(reorders.by_layer)}}});
  }

  // fp32 work left inside an INT8 model.
  bool int8 = false;
  for (const auto& e : events) {
    if (!e.is_op) continue;
    if (e.name.rfind("quantized::", 0) == 0 || is_quantize_boundary(e.name) || is_ort_int8_kernel(e.name)) int8 = true;
    for (const auto& d : e.dtypes) int8 = int8 || is_quantized_dtype(d);
    if (int8) break;
  }
  if (int8) {
    const auto fp32 = group_top_level(events, summary.iterations, [](const ProfiledEvent& e) {
      return !is_quantize_boundary(e.name) && !e.dtypes.empty() && is_fp32_dtype(e.dtypes[0]);
    });
    if (fp32.calls > 0) {
      hints.push_back({"fp32-in-int8",
                       fmt::format("{:.0f} ops per inference run in fp32 inside this INT8 model, {:.3f} ms, {} of op time: {}",
                                   fp32.calls, fp32.ms, percent(fp32.ms / total), top_list(fp32.by_layer, total)),
                       {{"calls", fp32.calls}, {"ms", fp32.ms}, {"share", fp32.ms / total}, {"top", list_json(fp32.by_layer)}}});
    }
  }

  // Compute- or memory-bound: how much of the time multiplies at all, and how fast it does.
  // Counted per top-level op, not per layer: a frozen model's ops all sit in one top-level "layer".
  const double mac_ms =
      group_top_level(events, summary.iterations, [](const ProfiledEvent& e) { return does_macs(e.name); }).ms;
  double best_gflops = 0;
  for (const auto& l : summary.layers) {
    if (l.gflop > 0 && l.total_ms > 0) best_gflops = std::max(best_gflops, l.gflop / (l.total_ms / 1000.0));
  }
  const double mac_share = mac_ms / total;
  const double achieved = macs > 0 ? 2.0 * static_cast<double>(macs) / 1e9 / (total / 1000.0) : 0.0;
  json figures = {{"mac_op_share", mac_share}, {"gflops_per_s", achieved}, {"best_layer_gflops_per_s", best_gflops}};
  if (mac_share >= kComputeBoundShare) {
    hints.push_back({"compute-bound",
                     fmt::format("compute-bound: {} of op time is in conv/linear/matmul ops{}", percent(mac_share),
                                 achieved > 0 ? fmt::format(", {:.1f} GFLOP/s achieved over the model's op time", achieved) : ""),
                     figures});
  } else {
    hints.push_back({"memory-bound",
                     fmt::format("memory-bound: only {} of op time is in conv/linear/matmul ops; the rest (pooling, norms, "
                                 "activations, copies) moves data without multiply-accumulates{}",
                                 percent(mac_share),
                                 achieved > 0 ? fmt::format(" ({:.1f} GFLOP/s achieved over the model's op time)", achieved) : ""),
                     figures});
  }
  std::vector<std::pair<std::string, double>> starved;
  for (const auto& l : summary.layers) {
    if (l.gflop <= 0 || l.total_ms <= 0 || l.share < kStarvedMinShare) continue;
    const double g = l.gflop / (l.total_ms / 1000.0);
    if (g < kStarvedFraction * best_gflops) starved.emplace_back(layer_label(l.path), g);
  }
  if (!starved.empty()) {
    std::vector<std::string> parts;
    for (const auto& [layer, g] : starved) parts.push_back(fmt::format("{} {:.1f} GFLOP/s", layer, g));
    hints.push_back({"low-throughput-layers",
                     fmt::format("{} layer(s) with >= {} of op time reach under {} of the best layer's {:.1f} GFLOP/s "
                                 "(likely memory-bound: small channels, depthwise, odd sizes): {}",
                                 starved.size(), percent(kStarvedMinShare), percent(kStarvedFraction), best_gflops, fmt::join(parts, ", ")),
                     {{"best_layer_gflops_per_s", best_gflops}, {"layers", starved_json(starved)}}});
  }
  return hints;
}

json hints_json(const std::vector<Hint>& hints) {
  json out = json::array();
  for (const auto& h : hints) out.push_back({{"kind", h.kind}, {"message", h.message}, {"figures", h.figures}});
  return out;
}

}  // namespace mopt
