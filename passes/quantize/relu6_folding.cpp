// relu6_as_hardtanh: aten::relu6(_)(x) -> aten::hardtanh(_)(x, 0., 6.), before observers.
// fold_relu6_into_quantized_ops, after conversion:
//   Before: %y = quantized::conv2d(%x, %w, %scale, %zp);  %z = aten::hardtanh_(%y, 0., 6.)
//   After:  %z = quantized::conv2d_relu(%x, %w, u / 255, 0),  u = min(6, (255 - zp) * scale)
#include "passes/quantize/relu6_folding.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "lib/model/graph_walk.h"
#include "passes/quantize/inline_calls.h"

namespace mopt::quant {
namespace {

using torch::jit::Node;
using torch::jit::Value;

constexpr int64_t kUint8Max = 255;  // mopt's static INT8 activations are quint8

// Quantized ops with a fused ReLU form taking the same (input..., output scale, output zero point).
const std::map<std::string, std::string>& relu_forms() {
  static const std::map<std::string, std::string> forms = {
      {"quantized::conv1d", "quantized::conv1d_relu"}, {"quantized::conv1d_relu", "quantized::conv1d_relu"},
      {"quantized::conv2d", "quantized::conv2d_relu"}, {"quantized::conv2d_relu", "quantized::conv2d_relu"},
      {"quantized::conv3d", "quantized::conv3d_relu"}, {"quantized::conv3d_relu", "quantized::conv3d_relu"},
      {"quantized::linear", "quantized::linear_relu"}, {"quantized::linear_relu", "quantized::linear_relu"},
      {"quantized::add", "quantized::add_relu"},       {"quantized::add_relu", "quantized::add_relu"}};
  return forms;
}

std::optional<double> constant_double(const Value* value) {
  auto constant = torch::jit::toIValue(value);
  if (!constant || !(constant->isDouble() || constant->isInt())) return std::nullopt;
  return constant->toScalar().toDouble();
}

// The clamp's upper bound when `node` is ReLU6-like: hardtanh(x, 0, b > 0) or relu6(x).
std::optional<double> relu6_bound(const Node* node) {
  const std::string kind = node->kind().toQualString();
  if ((kind == "aten::relu6" || kind == "aten::relu6_") && node->inputs().size() == 1) return 6.0;
  if ((kind != "aten::hardtanh" && kind != "aten::hardtanh_") || node->inputs().size() != 3) return std::nullopt;
  auto low = constant_double(node->input(1));
  auto high = constant_double(node->input(2));
  if (!low || !high || *low != 0.0 || *high <= 0.0) return std::nullopt;
  return high;
}

bool fold(Node* clamp, double bound) {
  Value* quantized = clamp->input(0);
  Node* producer = quantized->node();
  auto form = relu_forms().find(producer->kind().toQualString());
  if (form == relu_forms().end() || quantized->uses().size() != 1 || producer->inputs().size() != 4) return false;
  auto scale = constant_double(producer->input(2));
  auto zero_point = constant_double(producer->input(3));
  if (!scale || !zero_point || *scale <= 0 || *zero_point < 0 || *zero_point >= kUint8Max) return false;
  const double upper = std::min(bound, (kUint8Max - *zero_point) * *scale);

  auto& graph = *clamp->owningGraph();
  torch::jit::WithInsertPoint guard(clamp);
  Value* fused = graph.insert(c10::Symbol::fromQualString(form->second),
                              {producer->input(0), producer->input(1), upper / kUint8Max, int64_t{0}});
  fused->setType(clamp->output()->type());
  fused->node()->copyMetadata(producer);
  clamp->output()->replaceAllUsesWith(fused);
  clamp->destroy();
  producer->destroy();
  return true;
}

}  // namespace

int64_t relu6_as_hardtanh(torch::jit::Module& module) {
  const auto relu6 = c10::Symbol::fromQualString("aten::relu6");
  const auto relu6_in_place = c10::Symbol::fromQualString("aten::relu6_");
  std::set<torch::jit::Graph*> seen;  // instances of one module type share their graphs
  int64_t rewritten = 0;
  for (const auto& submodule : module.modules()) {
    for (const auto& method : submodule.get_methods()) {
      auto graph = method.graph();
      if (!seen.insert(graph.get()).second) continue;
      inline_calls_computing(graph, {relu6, relu6_in_place});  // F.relu6
      for (auto* node : all_nodes(graph->block())) {
        if (node->kind() != relu6 && node->kind() != relu6_in_place) continue;
        torch::jit::WithInsertPoint guard(node);
        auto kind = node->kind() == relu6 ? c10::aten::hardtanh : c10::Symbol::fromQualString("aten::hardtanh_");
        Value* clamped = graph->insert(kind, {node->input(0), 0.0, 6.0});
        node->output()->replaceAllUsesWith(clamped);
        node->destroy();
        ++rewritten;
      }
    }
  }
  return rewritten;
}

int64_t fold_relu6_into_quantized_ops(torch::jit::Graph& graph) {
  int64_t folded = 0;
  for (auto* node : all_nodes(graph.block())) {
    if (auto bound = relu6_bound(node)) folded += fold(node, *bound);
  }
  return folded;
}

}  // namespace mopt::quant
