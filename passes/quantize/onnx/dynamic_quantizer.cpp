#include "passes/quantize/onnx/dynamic_quantizer.h"

#include <fmt/format.h>

#include <map>
#include <set>

#include "lib/errors.h"
#include "lib/onnx/graph_utils.h"
#include "lib/onnx/node_attributes.h"
#include "lib/onnx/onnx_tensors.h"
#include "lib/util/strings.h"
#include "passes/quantize/onnx/dynamic_lstm.h"
#include "passes/quantize/onnx/qdq_quantizer.h"

namespace mopt::onnx_quant {
namespace {

bool skipped(const std::vector<std::string>& globs, const std::string& node, const std::string& weight) {
  return matches_any_glob(globs, node) || matches_any_glob(globs, weight);
}

onnx::NodeProto make_node(const std::string& op, const std::vector<std::string>& inputs,
                          const std::vector<std::string>& outputs, const std::string& name) {
  onnx::NodeProto node;
  node.set_op_type(op);
  node.set_name(name);
  for (const auto& i : inputs) node.add_input(i);
  for (const auto& o : outputs) node.add_output(o);
  return node;
}

}  // namespace

onnx::ModelProto apply_dynamic(const onnx::ModelProto& model, const std::vector<std::string>& skip, bool per_column,
                               int64_t weight_limit, nlohmann::json& summary) {
  if (default_opset(model) < 11) {
    throw invalid_input(fmt::format("dynamic INT8 needs opset 11 or later (DynamicQuantizeLinear); the model is opset {}",
                                    default_opset(model)));
  }
  onnx::ModelProto result = model;
  auto& graph = *result.mutable_graph();
  std::set<std::string> taken;
  auto unique = [&](const std::string& base) {
    auto name = unique_value_name(graph, base);
    for (int i = 1; !taken.insert(name).second; ++i) name = unique_value_name(graph, fmt::format("{}_{}", base, i));
    return name;
  };
  std::map<std::string, std::array<std::string, 3>> quantized_activation;  // A -> (A_q, A_scale, A_zp)
  std::map<std::string, std::array<std::string, 3>> quantized_weight;      // W -> (W_q, W_scale, W_zp)
  std::set<std::string> replaced;
  nlohmann::json fp32 = nlohmann::json::array();
  int converted = 0, lstms = 0;
  std::vector<onnx::NodeProto> nodes;
  for (const auto& node : graph.node()) {
    if (is_onnx_op(node, "LSTM") || is_onnx_op(node, "GRU")) {
      auto reason = is_onnx_op(node, "GRU") ? "ONNX Runtime has no dynamic INT8 GRU kernel" : dynamic_lstm_blocker(graph, node);
      if (reason.empty() && skipped(skip, node_label(node), node.input(1))) reason = "--skip";
      if (!reason.empty()) {
        fp32.push_back({{"node", node_label(node)}, {"op_type", node.op_type()}, {"reason", reason}});
        nodes.push_back(node);
        continue;
      }
      nodes.push_back(make_dynamic_lstm(result, node, unique, weight_limit));
      replaced.insert(node.input(1));
      replaced.insert(node.input(2));
      ++lstms;
      continue;
    }
    // Gemm (alpha = beta = 1, A not transposed) is A x op(B) + C: the same rewrite plus an Add.
    const bool gemm = is_onnx_op(node, "Gemm");
    const bool matmul = is_onnx_op(node, "MatMul") || gemm;
    const auto* w = matmul ? find_constant_initializer(graph, node.input(1)) : nullptr;
    const bool trans_b = gemm && int_attribute(node, "transB", 0) != 0;
    std::string reason;
    if (matmul && !w) reason = "its second operand is not a constant initializer";
    else if (matmul && w->dims_size() != 2) reason = "its weight is not 2-D";
    else if (gemm && (int_attribute(node, "transA", 0) != 0 || float_attribute(node, "alpha", 1) != 1 ||
                      float_attribute(node, "beta", 1) != 1)) reason = "transA, alpha or beta other than the defaults";
    else if (matmul && skipped(skip, node_label(node), node.input(1))) reason = "--skip";
    if (!matmul || !reason.empty()) {
      if (!reason.empty()) fp32.push_back({{"node", node_label(node)}, {"op_type", node.op_type()}, {"reason", reason}});
      nodes.push_back(node);
      continue;
    }
    const auto& a = node.input(0);
    if (!quantized_activation.count(a)) {
      std::array<std::string, 3> q = {unique(a + "_quantized"), unique(a + "_scale"), unique(a + "_zero_point")};
      nodes.push_back(make_node("DynamicQuantizeLinear", {a}, {q[0], q[1], q[2]}, unique(a + "_DynamicQuantizeLinear")));
      quantized_activation[a] = q;
    }
    const auto wname = node.input(1) + (trans_b ? "^T" : "");  // a transposed use gets its own copy
    if (!quantized_weight.count(wname)) {
      auto value = tensor_to_torch(*w)->to(torch::kFloat);
      if (trans_b) value = value.t().contiguous();
      // W is [K, N]: a column is one output feature, so per-column scales are per output channel.
      auto absmax = per_column ? value.abs().amax(0) : value.abs().amax();
      auto scale = torch::clamp_min(absmax / static_cast<double>(weight_limit), 1e-12).to(torch::kFloat);
      auto q = torch::round(value / scale).clamp(-weight_limit, weight_limit).to(torch::kInt8);
      const auto& base = node.input(1);
      std::array<std::string, 3> names = {unique(base + "_quantized"), unique(base + "_scale"), unique(base + "_zero_point")};
      add_initializer(result, torch_to_tensor(q, names[0]));
      add_initializer(result, torch_to_tensor(scale, names[1]));
      add_initializer(result, torch_to_tensor(torch::zeros(scale.sizes(), torch::kInt8), names[2]));
      quantized_weight[wname] = names;
      replaced.insert(node.input(1));
    }
    const auto& aq = quantized_activation.at(a);
    const auto& wq = quantized_weight.at(wname);
    const auto& y = node.output(0);
    auto label = node_label(node);
    auto integer = unique(y + "_int32"), as_float = unique(y + "_int32_float"), scale = unique(y + "_scale");
    nodes.push_back(make_node("MatMulInteger", {aq[0], wq[0], aq[2], wq[2]}, {integer}, label + "_MatMulInteger"));
    auto cast = make_node("Cast", {integer}, {as_float}, label + "_Cast");
    auto* to = cast.add_attribute();
    to->set_name("to");
    to->set_type(onnx::AttributeProto::INT);
    to->set_i(onnx::TensorProto::FLOAT);
    nodes.push_back(cast);
    nodes.push_back(make_node("Mul", {aq[1], wq[1]}, {scale}, label + "_scale_Mul"));
    const bool bias = gemm && node.input_size() > 2 && !node.input(2).empty();
    const auto product = bias ? unique(y + "_product") : y;
    nodes.push_back(make_node("Mul", {as_float, scale}, {product}, label + "_Mul"));
    if (bias) nodes.push_back(make_node("Add", {product, node.input(2)}, {y}, label + "_bias_Add"));
    ++converted;
  }
  graph.clear_node();
  for (auto& n : nodes) *graph.add_node() = std::move(n);
  remove_unused_initializers(graph, &replaced);
  prune_value_info(graph);
  nlohmann::json quantized = nlohmann::json::object();
  if (converted) quantized["MatMul"] = converted;  // Gemm included: it becomes a MatMulInteger
  if (lstms) quantized["LSTM"] = lstms;
  summary = {{"quantized_nodes", quantized},
             {"weights_quantized", quantized_weight.size()},
             {"fp32_nodes", fp32},
             {"weight_format", per_column ? "int8 symmetric, per output column (LSTM: per direction)"
                                          : "int8 symmetric, per tensor (LSTM: per direction)"},
             {"activation_format", "uint8, quantized at run time (DynamicQuantizeLinear)"}};
  return result;
}

}  // namespace mopt::onnx_quant
