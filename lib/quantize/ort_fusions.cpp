#include "lib/quantize/ort_fusions.h"

#include <algorithm>
#include <map>
#include <set>

namespace mopt::quant {
namespace {

// ORT's INT8 kernels and the fp32 op each replaces (com.microsoft and default domains alike).
const std::map<std::string, std::string> kInt8Kernels = {
    {"QLinearConv", "Conv"},       {"QGemm", "Gemm"},       {"QLinearMatMul", "MatMul"},
    {"MatMulIntegerToFloat", "MatMul"}, {"DynamicQuantizeMatMul", "MatMul"}, {"MatMulInteger", "MatMul"},
    {"QLinearAdd", "Add"}, {"QLinearMul", "Mul"},
    {"QLinearConcat", "Concat"},   {"QLinearAveragePool", "AveragePool"},
    {"QLinearGlobalAveragePool", "GlobalAveragePool"}, {"QLinearSigmoid", "Sigmoid"}, {"QLinearSoftmax", "Softmax"},
    {"QLinearLeakyRelu", "LeakyRelu"}, {"DynamicQuantizeLSTM", "LSTM"}};
// fp32 compute kinds as they appear after ORT's fp32 fusions.
const std::map<std::string, std::string> kFp32Kernels = {
    {"Conv", "Conv"}, {"FusedConv", "Conv"}, {"Gemm", "Gemm"}, {"FusedGemm", "Gemm"}, {"MatMul", "MatMul"}, {"FusedMatMul", "MatMul"}, {"LSTM", "LSTM"}};

}  // namespace

bool ort_runs_as_int8_table(const std::string& op_type) {
  return op_type == "Sigmoid" || op_type == "Softmax" || op_type == "LeakyRelu";
}

bool is_ort_int8_kernel(const std::string& op_type) { return kInt8Kernels.count(op_type) > 0; }

nlohmann::json count_ort_fusions(const onnx::ModelProto& optimized) {
  std::map<std::string, std::pair<int, int>> counts;  // source op -> (int8 kernels, fp32 nodes)
  int quantize_nodes = 0;
  std::set<std::string> dequantized, graph_outputs;
  for (const auto& node : optimized.graph().node()) {
    if (node.op_type() == "DequantizeLinear") dequantized.insert(node.output(0));
  }
  for (const auto& output : optimized.graph().output()) graph_outputs.insert(output.name());
  for (const auto& node : optimized.graph().node()) {
    const auto& op = node.op_type();
    if (op == "QuantizeLinear" || op == "DequantizeLinear") ++quantize_nodes;
    if (auto it = kInt8Kernels.find(op); it != kInt8Kernels.end()) ++counts[it->second].first;
    if (auto it = kFp32Kernels.find(op); it != kFp32Kernels.end()) ++counts[it->second].second;
    // A table op counts as left in fp32 only where ORT left one that reads a DequantizeLinear inside
    // the graph: one mopt planned INT8 (elsewhere it is fp32 by design).
    if (ort_runs_as_int8_table(op) && node.input_size() > 0 && dequantized.count(node.input(0)) && !graph_outputs.count(node.output(0))) {
      ++counts[op].second;
    }
  }
  nlohmann::json ops = nlohmann::json::object();
  for (const auto& [op, c] : counts) ops[op] = {{"int8", c.first}, {"fp32", c.second}};
  return {{"ops", ops}, {"quantize_dequantize_nodes", quantize_nodes}, {"nodes", optimized.graph().node_size()}};
}

nlohmann::json left_fp32_by_ort(const nlohmann::json& fusion_ops, const nlohmann::json& fp32_nodes) {
  std::map<std::string, int> kept;
  for (const auto& node : fp32_nodes) ++kept[node["op_type"].get<std::string>()];
  nlohmann::json left = nlohmann::json::object();
  for (const auto& [op, counts] : fusion_ops.items()) left[op] = std::max(0, counts["fp32"].get<int>() - kept[op]);
  return left;
}

}  // namespace mopt::quant
