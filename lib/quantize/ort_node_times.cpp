#include "lib/quantize/ort_node_times.h"

#include <regex>
#include <set>

#include "lib/bench/op_profile_summary.h"
#include "lib/bench/ort_profile.h"
#include "lib/onnx/graph_utils.h"
#include "lib/quantize/ort_fusions.h"

namespace mopt::quant {
namespace {

// Activations ORT's fp32 optimizer fuses into the Conv/Gemm before them (FusedConv, NCHWc Conv).
const std::set<std::string> kFusedActivations = {"Relu", "Clip", "HardSigmoid", "HardSwish", "LeakyRelu", "Sigmoid", "Tanh"};
const std::set<std::string> kComputeOps = {"Conv", "Gemm", "MatMul"};

// The source node an ORT node name stands for, or "" (a Q/DQ, reorder or transpose ORT added).
std::string source_node(const std::string& ort_name, const onnx::GraphProto& source, const std::map<std::string, int>& labels,
                        const std::map<std::string, int>& producers) {
  static const std::regex kRenamed("(.*)(_token_[0-9]+|_nchwc)$");
  std::smatch match;
  const std::string base = std::regex_match(ort_name, match, kRenamed) ? match[1].str() : ort_name;
  if (auto it = labels.find(base); it != labels.end()) return base;
  auto made = producers.find(base);  // an NCHWc node is named after the tensor it computes
  if (made == producers.end()) return "";
  const onnx::NodeProto* node = &source.node(made->second);
  if (kFusedActivations.count(node->op_type()) && node->input_size() > 0) {
    auto below = producers.find(node->input(0));
    if (below != producers.end() && kComputeOps.count(source.node(below->second).op_type())) node = &source.node(below->second);
  }
  return node_label(*node);
}

}  // namespace

std::map<std::string, NodeTime> ort_node_times(const OrtProfile& profile, const onnx::GraphProto& source) {
  std::map<std::string, int> labels;
  for (int i = 0; i < source.node_size(); ++i) labels[node_label(source.node(i))] = i;
  const auto producers = build_producers(source);
  std::map<std::string, NodeTime> times;
  for (const auto& layer : summarize_profile(events_from_ort_trace(profile.trace, profile.warmup_runs)).layers) {
    const auto node = source_node(layer.path, source, labels, producers);
    if (node.empty()) continue;
    auto& time = times[node];
    time.us += layer.total_ms * 1000.0;
    if (time.kernel.empty() || is_ort_int8_kernel(layer.type)) time.kernel = layer.type;
  }
  return times;
}

std::vector<SlowerNode> slower_at_input_edge(const onnx::GraphProto& source, const std::map<std::string, NodeTime>& fp32,
                                             const std::map<std::string, NodeTime>& int8) {
  const auto inputs = graph_input_names(source);
  std::set<std::string> constants;
  for (const auto& init : source.initializer()) constants.insert(init.name());
  std::vector<SlowerNode> slower;
  for (const auto& node : source.node()) {
    bool at_edge = node.input_size() > 0;
    for (const auto& input : node.input()) {
      if (!input.empty() && !constants.count(input) && !inputs.count(input)) at_edge = false;
    }
    const auto label = node_label(node);
    auto before = fp32.find(label), after = int8.find(label);
    if (!at_edge || before == fp32.end() || after == int8.end() || !is_ort_int8_kernel(after->second.kernel)) continue;
    if (after->second.us > kSlowerRatio * before->second.us && after->second.us - before->second.us >= kSlowerMinUs) {
      slower.push_back({label, node.op_type(), before->second.us, after->second.us});
    }
  }
  return slower;
}

}  // namespace mopt::quant
