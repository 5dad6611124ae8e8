#include "passes/quantize/onnx/qdq_quantizer.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "calibration/qparams.h"
#include "lib/errors.h"
#include "lib/quantize/ort_fusions.h"
#include "lib/onnx/graph_utils.h"
#include "lib/onnx/node_attributes.h"
#include "lib/onnx/onnx_tensors.h"
#include "lib/util/strings.h"

namespace mopt::onnx_quant {
namespace {

// Ops that only move or select values: their output reuses the input's parameters, which is what
// lets ORT drop the DQ -> op -> Q around them and run them on uint8.
// Split too: every output keeps the input's parameters, and ORT runs DQ -> Split -> Q as an INT8 Split
// (ShuffleNetV2 splits channels 13 times; left fp32, each split cost a DQ and two Qs per call).
const std::set<std::string> kPassthroughOps = {"MaxPool", "Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "Dropout", "Resize", "Split"};

// The data outputs of a passthrough node (Dropout's mask and MaxPool's indices are not data).
int data_outputs(const onnx::NodeProto& node) { return node.op_type() == "Split" ? node.output_size() : 1; }

bool is_constant(const onnx::GraphProto& graph, const std::string& name) {
  return find_constant_initializer(graph, name) != nullptr;
}

// A scalar constant initializer's value, if `name` is one.
std::optional<double> scalar_constant(const onnx::GraphProto& graph, const std::string& name) {
  auto* t = find_constant_initializer(graph, name);
  if (!t) return std::nullopt;
  auto value = tensor_to_torch(*t);
  if (!value || value->numel() != 1) return std::nullopt;
  return value->to(torch::kDouble).item<double>();
}

// Relu, or Clip whose lower bound is 0: both are what a uint8 Q with zero point 0 does anyway.
bool is_foldable_activation(const onnx::GraphProto& graph, const onnx::NodeProto& node, int64_t opset) {
  if (is_onnx_op(node, "Relu")) return true;
  if (!is_onnx_op(node, "Clip")) return false;
  if (opset < 11) return float_attribute(node, "min", -1) == 0.0;
  return node.input_size() >= 2 && !node.input(1).empty() && scalar_constant(graph, node.input(1)) == 0.0;
}

// Why a compute node cannot be quantized, or "" when it can. `weight_slot` says which input is a
// constant weight (-1: all inputs are activations).
std::string compute_node_blocker(const onnx::GraphProto& graph, const onnx::NodeProto& node, int& weight_slot) {
  weight_slot = -1;
  const auto& op = node.op_type();
  if (op == "Conv") {
    weight_slot = 1;
    if (!is_constant(graph, node.input(1))) return "its weight is not a constant initializer";
    if (node.input_size() > 2 && !node.input(2).empty() && !is_constant(graph, node.input(2))) return "its bias is not constant";
    return "";
  }
  if (op == "Gemm") {
    weight_slot = 1;
    if (!is_constant(graph, node.input(1))) return "its B operand is not a constant initializer";
    if (int_attribute(node, "transA", 0) != 0) return "transA=1";
    if (float_attribute(node, "alpha", 1.0) != 1.0 || float_attribute(node, "beta", 1.0) != 1.0) return "alpha or beta is not 1";
    if (node.input_size() > 2 && !node.input(2).empty() && !is_constant(graph, node.input(2))) return "its C operand is not constant";
    return "";
  }
  if (op == "MatMul") {
    if (is_constant(graph, node.input(1))) {
      weight_slot = 1;
      if (find_constant_initializer(graph, node.input(1))->dims_size() != 2) return "its constant operand is not 2-D";
    }
    if (is_constant(graph, node.input(0))) return "its first operand is a constant";
    return "";
  }
  for (const auto& input : node.input()) {
    if (input.empty() || is_constant(graph, input)) return "an input is a constant";
  }
  return "";
}

// Names of the float32 values, by ONNX's own type inference (initializers included): Add/Mul/
// Concat also do int64 shape arithmetic, which must never get a Q/DQ.
std::set<std::string> float_values(const onnx::ModelProto& model) {
  std::set<std::string> floats;
  for (const auto& [name, type] : inferred_tensor_types(model)) {
    if (type.elem_type() == onnx::TensorProto::FLOAT) floats.insert(name);
  }
  for (const auto& t : model.graph().initializer()) {
    if (t.data_type() == onnx::TensorProto::FLOAT) floats.insert(t.name());
  }
  return floats;
}

const std::set<std::string> kComputeOps = {"Conv", "Gemm", "MatMul", "Add", "Mul", "Concat", "AveragePool", "GlobalAveragePool"};

}  // namespace


QdqPlan plan_qdq(const onnx::ModelProto& model, const QdqOptions& options) {
  const int64_t opset = default_opset(model);
  if (opset < 10) throw invalid_input(fmt::format("the model is opset {}; QuantizeLinear needs opset 10 or later", opset));
  if (options.per_channel && opset < 13) {
    throw invalid_input(fmt::format("per-channel weights need opset 13 or later (the model is opset {}); use --per-tensor", opset));
  }
  const auto& graph = model.graph();
  const auto consumers = build_consumers(graph);
  const auto outputs = graph_output_names(graph);
  const auto captured = subgraph_references(graph);  // read by name inside If branches
  const auto floats = float_values(model);
  QdqPlan plan;
  std::set<std::string> quantized;  // tensors that get a Q (calibrated or shared)
  std::set<int> folded_nodes;
  auto quantize = [&](const std::string& tensor) {
    if (quantized.insert(tensor).second) plan.calibrate.push_back(tensor);
  };

  for (int n = 0; n < graph.node_size(); ++n) {
    const auto& node = graph.node(n);
    if (!node.domain().empty() && node.domain() != "ai.onnx") continue;
    if (folded_nodes.count(n)) continue;
    const auto label = node_label(node);
    if (kPassthroughOps.count(node.op_type())) {
      const bool mask_used = data_outputs(node) == 1 && node.output_size() > 1 && !node.output(1).empty() &&
                             (consumers.count(node.output(1)) || outputs.count(node.output(1)));
      const bool training = node.op_type() == "Dropout" && node.input_size() > 2 && !node.input(2).empty();
      if (quantized.count(node.input(0)) && !mask_used && !training && !matches_any_glob(options.skip, label)) {
        plan.passthrough.push_back(n);
        for (int o = 0; o < data_outputs(node); ++o) {
          plan.shares_params[node.output(o)] = node.input(0);
          quantized.insert(node.output(o));
        }
      }
      continue;
    }
    const bool all_float = node.input_size() > 0 &&
                           std::all_of(node.input().begin(), node.input().end(),
                                       [&](const std::string& in) { return in.empty() || floats.count(in); });
    if (!all_float) continue;  // integer shape arithmetic (or a Constant), not a quantization candidate
    // ORT's CPU QDQ rules run DQ -> op -> Q as QLinearSigmoid/QLinearSoftmax/QLinearLeakyRelu (lookup
    // tables), which keeps SiLU's and squeeze-excite's gates (EfficientNet, RegNetY) and attention
    // weights INT8. Not where the output leaves the model: probabilities keep their fp32 precision.
    const bool table_op = quant::ort_runs_as_int8_table(node.op_type()) && !outputs.count(node.output(0));
    if (!kComputeOps.count(node.op_type()) && !table_op) {
      // LayerNormalization, Erf, ...: they run fp32 between a DQ and a Q.
      if (node.op_type() != "Identity" && floats.count(node.output(0))) ++plan.fp32_op_types[node.op_type()];
      continue;
    }
    int weight_slot = -1;
    auto blocker = compute_node_blocker(graph, node, weight_slot);
    if (auto kept = options.keep_fp32.find(label); blocker.empty() && kept != options.keep_fp32.end()) blocker = kept->second;
    if (blocker.empty() && (matches_any_glob(options.skip, label) ||
                            (weight_slot >= 0 && matches_any_glob(options.skip, node.input(weight_slot))))) {
      blocker = "--skip";
    }
    if (!blocker.empty()) {
      plan.skipped.push_back({label, node.op_type(), blocker});
      continue;
    }
    plan.targets.push_back(n);
    for (int i = 0; i < node.input_size(); ++i) {
      if (i == weight_slot || node.input(i).empty()) continue;
      if ((node.op_type() == "Conv" || node.op_type() == "Gemm") && i == 2) continue;  // bias: int32 from the scales
      quantize(node.input(i));
    }
    // The output: through a following Relu/Clip(0, .) when the uint8 range makes it redundant. The
    // node's output then takes the activation's name, so neither may be read inside a subgraph, where
    // the name would stand for the other value.
    const auto& out = node.output(0);
    auto uses = consumers.find(out);
    if (!options.symmetric_activations && !outputs.count(out) && !captured.count(out) && uses != consumers.end() &&
        uses->second.size() == 1) {
      int next = uses->second[0].node;
      const auto& activation = graph.node(next);
      if (is_foldable_activation(graph, activation, opset) && !captured.count(activation.output(0)) &&
          !matches_any_glob(options.skip, node_label(activation))) {
        plan.folded_activation[n] = next;
        folded_nodes.insert(next);
        quantize(activation.output(0));
        continue;
      }
    }
    quantize(out);
  }
  return plan;
}

std::vector<std::string> nodes_touching(const onnx::ModelProto& model, const QdqPlan& plan, const std::string& tensor) {
  const auto& graph = model.graph();
  std::vector<std::string> producers, readers;
  for (int n : plan.targets) {
    const auto& node = graph.node(n);
    auto folded = plan.folded_activation.find(n);
    const auto& out = folded == plan.folded_activation.end() ? node.output(0) : graph.node(folded->second).output(0);
    if (out == tensor) producers.push_back(node_label(node));
    for (const auto& input : node.input()) {
      if (input == tensor) readers.push_back(node_label(node));
    }
  }
  producers.insert(producers.end(), readers.begin(), readers.end());
  return producers;
}

namespace {

struct TensorParams {
  std::string scale, zero_point;  // initializer names
  double scale_value;
  int64_t zero_point_value;
};

// Builds the rewritten node list and the initializers it needs.
class QdqWriter {
 public:
  QdqWriter(onnx::ModelProto& model, const QdqOptions& options) : model_(model), graph_(*model.mutable_graph()), options_(options) {}

  std::string unique(const std::string& base) {
    auto name = unique_value_name(graph_, base);
    while (!taken_.insert(name).second) name = unique_value_name(graph_, base + "_" + std::to_string(taken_.size()));
    return name;
  }

  std::string add_initializer(const torch::Tensor& value, const std::string& base) {
    auto name = unique(base);
    mopt::add_initializer(model_, torch_to_tensor(value.contiguous(), name));
    return name;
  }

  TensorParams activation_params(const std::string& tensor, Range range) {
    const bool symmetric = options_.symmetric_activations;
    auto q = symmetric ? choose_qparams(range, -128, 127, true, kOrtMinScale) : choose_qparams(range, 0, 255, false, kOrtMinScale);
    TensorParams p;
    p.scale_value = q.scale;
    p.zero_point_value = q.zero_point;
    p.scale = add_initializer(torch::tensor(static_cast<float>(q.scale)), tensor + "_scale");
    auto zp = symmetric ? torch::tensor(static_cast<int8_t>(q.zero_point), torch::kInt8)
                        : torch::tensor(static_cast<uint8_t>(q.zero_point), torch::kUInt8);
    p.zero_point = add_initializer(zp, tensor + "_zero_point");
    return p;
  }

  onnx::NodeProto& emit(const std::string& op, std::vector<std::string> inputs, const std::string& output) {
    auto& node = nodes_.emplace_back();
    node.set_op_type(op);
    node.set_name(unique(output + "_" + op));
    for (auto& i : inputs) node.add_input(i);
    node.add_output(output);
    return node;
  }

  std::string dequantize(const std::string& quantized, const TensorParams& p, const std::string& base, std::optional<int64_t> axis = {}) {
    auto out = unique(base + "_dequantized");
    auto& node = emit("DequantizeLinear", {quantized, p.scale, p.zero_point}, out);
    if (axis) {
      auto* a = node.add_attribute();
      a->set_name("axis");
      a->set_type(onnx::AttributeProto::INT);
      a->set_i(*axis);
    }
    return out;
  }

  std::vector<onnx::NodeProto>& nodes() { return nodes_; }

 private:
  onnx::ModelProto& model_;
  onnx::GraphProto& graph_;
  const QdqOptions& options_;
  std::set<std::string> taken_;
  std::vector<onnx::NodeProto> nodes_;
};

// int8 symmetric weights ([-limit, limit]): one scale per slice along `axis` (the output channel), or one scale.
std::pair<torch::Tensor, torch::Tensor> quantize_weight(const torch::Tensor& w, std::optional<int64_t> axis, int64_t limit) {
  auto absmax = axis ? w.abs().transpose(0, *axis).reshape({w.size(*axis), -1}).amax(1) : w.abs().amax();
  auto scale = torch::clamp_min(absmax / static_cast<double>(limit), kOrtMinScale).to(torch::kFloat);
  std::vector<int64_t> channel_shape(w.dim(), 1);
  if (axis) channel_shape[static_cast<size_t>(*axis)] = -1;
  auto shaped = axis ? scale.reshape(channel_shape) : scale;
  auto q = torch::round(w / shaped).clamp(-limit, limit).to(torch::kInt8);
  return {q, scale};
}

}  // namespace

onnx::ModelProto apply_qdq(const onnx::ModelProto& model, const QdqPlan& plan, const std::map<std::string, Range>& ranges,
                           const QdqOptions& options, nlohmann::json& summary) {
  onnx::ModelProto result = model;
  auto& graph = *result.mutable_graph();
  const auto outputs = graph_output_names(graph);
  QdqWriter writer(result, options);

  // Parameters for every quantized tensor; shared ones resolve to their root's initializers.
  std::map<std::string, TensorParams> params;
  for (const auto& tensor : plan.calibrate) {
    auto it = ranges.find(tensor);
    if (it == ranges.end()) throw runtime_failure(fmt::format("no calibrated range for tensor '{}'", tensor));
    params[tensor] = writer.activation_params(tensor, it->second);
  }
  for (int n : plan.passthrough) {
    const auto& node = graph.node(n);
    for (int o = 0; o < data_outputs(node); ++o) params[node.output(o)] = params.at(node.input(0));
  }

  std::set<int> targets(plan.targets.begin(), plan.targets.end());
  std::set<int> removed;
  for (auto [target, activation] : plan.folded_activation) {
    graph.mutable_node(target)->set_output(0, graph.node(activation).output(0));
    removed.insert(activation);
  }

  std::map<std::string, std::string> quantized_name;  // tensor -> its Q's output
  std::set<std::string> replaced_initializers;
  nlohmann::json per_op = nlohmann::json::object();
  int weights = 0;
  // A weight that several nodes read (tied embeddings, shared projections) is stored once, int8 with
  // its scales; each reader still gets its own DequantizeLinear, as ORT's fusions want.
  struct QuantizedWeight {
    std::string values;
    TensorParams params;
    torch::Tensor scale;
  };
  std::map<std::pair<std::string, int64_t>, QuantizedWeight> quantized_weights;  // (initializer, axis or -1)
  auto emit_q = [&](const std::string& tensor, const std::string& source) {
    const auto& p = params.at(tensor);
    auto q = writer.unique(tensor + "_quantized");
    writer.emit("QuantizeLinear", {source, p.scale, p.zero_point}, q);
    quantized_name[tensor] = q;
  };
  for (const auto& input : graph.input()) {
    if (params.count(input.name())) emit_q(input.name(), input.name());
  }

  for (int n = 0; n < graph.node_size(); ++n) {
    if (removed.count(n)) continue;
    onnx::NodeProto node = graph.node(n);
    const bool target = targets.count(n) > 0;
    const bool has_weight = target && (node.op_type() == "Conv" || node.op_type() == "Gemm" ||
                                       (node.op_type() == "MatMul" && is_constant(graph, node.input(1))));
    for (int i = 0; i < node.input_size(); ++i) {
      const std::string name = node.input(i);
      if (name.empty()) continue;
      if (has_weight && i == 1) {
        auto w = *tensor_to_torch(*find_constant_initializer(graph, name));
        if (node.op_type() == "Conv" && !find_attribute(node, "kernel_shape")) {
          // The weight now comes from a DQ; state the kernel so readers need not trace it back.
          auto* k = node.add_attribute();
          k->set_name("kernel_shape");
          k->set_type(onnx::AttributeProto::INTS);
          for (int64_t d = 2; d < w.dim(); ++d) k->add_ints(w.size(d));
        }
        // Per output channel: Conv's weight [C_out, ...] and Gemm's transposed B [N, K] on axis 0,
        // a MatMul or plain Gemm B [K, N] on axis 1 (per column, as QLinearMatMul allows).
        std::optional<int64_t> axis;
        if (options.per_channel) {
          const bool rows = node.op_type() == "Conv" || (node.op_type() == "Gemm" && int_attribute(node, "transB", 0) != 0);
          axis = rows ? 0 : (w.dim() == 2 ? std::optional<int64_t>(1) : std::nullopt);
        }
        auto stored = quantized_weights.find({name, axis.value_or(-1)});
        if (stored == quantized_weights.end()) {
          auto [q, scale] = quantize_weight(w.to(torch::kFloat), axis, options.weight_limit);
          TensorParams p{writer.add_initializer(scale, name + "_scale"),
                         writer.add_initializer(torch::zeros_like(scale, torch::kInt8), name + "_zero_point"), 0, 0};
          stored = quantized_weights.emplace(std::make_pair(name, axis.value_or(-1)),
                                             QuantizedWeight{writer.add_initializer(q, name + "_quantized"), p, scale}).first;
          ++weights;
        }
        const auto& scale = stored->second.scale;
        node.set_input(1, writer.dequantize(stored->second.values, stored->second.params, name, axis));
        replaced_initializers.insert(name);
        // The bias: int32 at scale x_scale * w_scale, zero point 0.
        if (node.op_type() != "MatMul" && node.input_size() > 2 && !node.input(2).empty()) {
          const auto& bias_name = node.input(2);
          auto b = tensor_to_torch(*find_constant_initializer(graph, bias_name))->to(torch::kFloat);
          auto bias_scale = (scale * static_cast<float>(params.at(graph.node(n).input(0)).scale_value)).to(torch::kFloat);
          const bool vector = bias_scale.dim() == 1 && b.dim() == 1 && b.size(0) == bias_scale.size(0);
          if (vector || bias_scale.dim() == 0) {
            auto qb = torch::round(b / bias_scale).clamp(INT32_MIN, INT32_MAX).to(torch::kInt);
            TensorParams bp{writer.add_initializer(bias_scale, bias_name + "_scale"),
                            writer.add_initializer(torch::zeros_like(bias_scale, torch::kInt), bias_name + "_zero_point"), 0, 0};
            auto qbname = writer.add_initializer(qb, bias_name + "_quantized");
            node.set_input(2, writer.dequantize(qbname, bp, bias_name, vector ? std::optional<int64_t>(0) : std::nullopt));
            replaced_initializers.insert(bias_name);
          }
        }
        ++i;  // the bias slot was handled with the weight (or stays as it is)
        continue;
      }
      auto q = quantized_name.find(name);
      if (q == quantized_name.end()) continue;
      // Shape reads no values: it takes the INT8 tensor, not a dequantized copy made for it alone
      // (ShuffleNetV2's channel shuffles read 16 shapes).
      node.set_input(i, node.op_type() == "Shape" ? q->second : writer.dequantize(q->second, params.at(name), name));
    }
    // Outputs that get a Q: a graph output keeps its name on a final DQ.
    std::vector<std::pair<std::string, std::string>> graph_output_dq;
    for (int o = 0; o < node.output_size(); ++o) {
      const std::string out = node.output(o);
      if (!params.count(out)) continue;
      if (outputs.count(out)) {
        auto pre = writer.unique(out + "_prequantized");
        node.set_output(o, pre);
        graph_output_dq.emplace_back(out, pre);
      }
    }
    writer.nodes().push_back(node);
    for (int o = 0; o < graph.node(n).output_size(); ++o) {
      const std::string out = graph.node(n).output(o);  // a folded Relu's output already stands here
      if (!params.count(out)) continue;
      std::string source = out;
      for (auto& [name, pre] : graph_output_dq) {
        if (name == out) source = pre;
      }
      emit_q(out, source);
      if (source != out) {
        const auto& p = params.at(out);
        writer.emit("DequantizeLinear", {quantized_name.at(out), p.scale, p.zero_point}, out);
      }
    }
    if (target) per_op[node.op_type()] = per_op.value(node.op_type(), 0) + 1;
  }

  graph.clear_node();
  for (auto& node : writer.nodes()) *graph.add_node() = std::move(node);
  remove_unused_initializers(graph, &replaced_initializers);
  prune_value_info(graph);

  nlohmann::json activation_params = nlohmann::json::object();
  for (const auto& [tensor, p] : params) activation_params[tensor] = {{"scale", p.scale_value}, {"zero_point", p.zero_point_value}};
  nlohmann::json skipped = nlohmann::json::array();
  for (const auto& s : plan.skipped) skipped.push_back({{"node", s.node}, {"op_type", s.op_type}, {"reason", s.reason}});
  summary = {{"quantized_nodes", per_op},
             {"weights_quantized", weights},
             {"activations_calibrated", plan.calibrate.size()},
             {"passthrough_nodes", plan.passthrough.size()},
             {"activations_folded", plan.folded_activation.size()},
             {"fp32_nodes", skipped},
             {"fp32_op_types", plan.fp32_op_types},
             {"activation_params", activation_params},
             {"weight_format", options.per_channel ? "int8 symmetric, per channel for Conv and Gemm (transB=1)" : "int8 symmetric, per tensor"},
             {"activation_format", options.symmetric_activations ? "int8 symmetric" : "uint8 affine"}};
  return result;
}

}  // namespace mopt::onnx_quant
