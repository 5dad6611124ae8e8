#include "lib/model/graph_walk.h"

#include <algorithm>
#include <cctype>
#include <string>

namespace mopt {
namespace {

void collect(torch::jit::Block* block, std::vector<torch::jit::Node*>& nodes) {
  for (auto* node : block->nodes()) {
    nodes.push_back(node);
    for (auto* sub : node->blocks()) collect(sub, nodes);
  }
}

}  // namespace

std::vector<torch::jit::Node*> all_nodes(torch::jit::Block* block) {
  std::vector<torch::jit::Node*> nodes;
  collect(block, nodes);
  return nodes;
}

bool is_tensor(const torch::jit::Value* value) { return value->type()->isSubtypeOf(*c10::TensorType::get()); }

bool is_kind(const torch::jit::Node* node, const char* kind) { return node->kind().toQualString() == std::string(kind); }

bool is_mkldnn_prim(const torch::jit::Node* node) {
  if (!node->kind().is_prim()) return false;
  std::string name = node->kind().toUnqualString();
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
  return name.rfind("mkldnn", 0) == 0;
}

bool is_quantize_op(const std::string& op) {
  return op.rfind("aten::quantize_per_", 0) == 0 || op == "aten::_make_per_tensor_quantized_tensor" || op == "QuantizeLinear";
}

bool is_quantize_boundary(const std::string& op) {
  return is_quantize_op(op) || op == "aten::dequantize" || op == "DequantizeLinear";
}

}  // namespace mopt
