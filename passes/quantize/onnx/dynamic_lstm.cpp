#include "passes/quantize/onnx/dynamic_lstm.h"

#include "lib/onnx/graph_utils.h"
#include "lib/onnx/node_attributes.h"
#include "lib/onnx/onnx_tensors.h"

namespace mopt::onnx_quant {
namespace {

constexpr const char* kMicrosoftDomain = "com.microsoft";

// int8 weights for one of W [dirs, 4H, in] or R [dirs, 4H, H]: a scale per direction, transposed.
struct QuantizedGates {
  torch::Tensor values, scale, zero_point;
};

QuantizedGates quantize_gates(const onnx::TensorProto& weight, int64_t limit) {
  auto w = tensor_to_torch(weight)->to(torch::kFloat);
  auto scale = torch::clamp_min(w.abs().amax({1, 2}) / static_cast<double>(limit), 1e-12);
  auto q = torch::round(w / scale.reshape({-1, 1, 1})).clamp(-limit, limit).to(torch::kInt8);
  return {q.transpose(1, 2).contiguous(), scale.contiguous(), torch::zeros({w.size(0)}, torch::kInt8)};
}

void ensure_microsoft_opset(onnx::ModelProto& model) {
  for (const auto& o : model.opset_import()) {
    if (o.domain() == kMicrosoftDomain) return;
  }
  auto* o = model.add_opset_import();
  o->set_domain(kMicrosoftDomain);
  o->set_version(1);
}

}  // namespace

std::string dynamic_lstm_blocker(const onnx::GraphProto& graph, const onnx::NodeProto& node) {
  const auto* w = find_constant_initializer(graph, node.input(1));
  const auto* r = find_constant_initializer(graph, node.input(2));
  if (!w || !r) return "its W or R is not a constant initializer";
  if (w->dims_size() != 3 || r->dims_size() != 3) return "its W or R is not 3-D";
  if (int_attribute(node, "layout", 0) != 0) return "layout=1 (batch first), which DynamicQuantizeLSTM does not take";
  return "";
}

onnx::NodeProto make_dynamic_lstm(onnx::ModelProto& model, const onnx::NodeProto& node,
                                  const std::function<std::string(const std::string&)>& unique, int64_t weight_limit) {
  const auto& graph = model.graph();
  auto w = quantize_gates(*find_constant_initializer(graph, node.input(1)), weight_limit);
  auto r = quantize_gates(*find_constant_initializer(graph, node.input(2)), weight_limit);
  auto add = [&](const torch::Tensor& value, const std::string& base) {
    auto name = unique(base);
    add_initializer(model, torch_to_tensor(value, name));
    return name;
  };
  onnx::NodeProto q;
  q.set_op_type("DynamicQuantizeLSTM");
  q.set_domain(kMicrosoftDomain);
  q.set_name(node.name().empty() ? "" : node.name() + "_quant");
  q.add_input(node.input(0));
  q.add_input(add(w.values, node.input(1) + "_quantized"));
  q.add_input(add(r.values, node.input(2) + "_quantized"));
  for (int i = 3; i < 8; ++i) q.add_input(i < node.input_size() ? node.input(i) : "");  // B, seq_lens, h0, c0, P
  q.add_input(add(w.scale, node.input(1) + "_scale"));
  q.add_input(add(w.zero_point, node.input(1) + "_zero_point"));
  q.add_input(add(r.scale, node.input(2) + "_scale"));
  q.add_input(add(r.zero_point, node.input(2) + "_zero_point"));
  for (const auto& o : node.output()) q.add_output(o);
  for (const auto& a : node.attribute()) {
    if (a.name() != "layout") *q.add_attribute() = a;
  }
  ensure_microsoft_opset(model);
  return q;
}

}  // namespace mopt::onnx_quant
