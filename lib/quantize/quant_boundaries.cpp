#include "lib/quantize/quant_boundaries.h"

#include <torch/csrc/jit/passes/inliner.h>

#include <map>

#include "lib/model/graph_walk.h"
#include "lib/util/strings.h"

namespace mopt::quant {
namespace {

void visit(const torch::jit::Block* block, int64_t& quantize, int64_t& dequantize, int64_t& quantized_ops,
           std::map<std::string, int64_t>& consumers) {
  for (const auto* node : block->nodes()) {
    const std::string kind = node->kind().toQualString();
    if (is_quantize_op(kind)) ++quantize;
    if (starts_with(kind, "quantized::")) ++quantized_ops;
    if (kind == "aten::dequantize") {
      ++dequantize;
      for (const auto& use : node->output()->uses()) {
        const auto* user = use.user;
        // A list of dequantized tensors (concatenated in fp32, see rewrite_quantized_cats): its reader.
        if (user->kind() == c10::prim::ListConstruct && user->output()->uses().size() == 1) user = user->output()->uses()[0].user;
        consumers[user->kind() == c10::prim::Return ? "return" : user->kind().toQualString()] += 1;
      }
    }
    for (const auto* sub : node->blocks()) visit(sub, quantize, dequantize, quantized_ops, consumers);
  }
}

}  // namespace

nlohmann::json quantization_boundaries(const Model& model) {
  auto graph = model.torchscript().get_method("forward").graph()->copy();
  torch::jit::Inline(*graph);  // unfrozen quantized models keep their layers in submodule calls
  int64_t quantize = 0, dequantize = 0, quantized_ops = 0;
  std::map<std::string, int64_t> consumers;
  visit(graph->block(), quantize, dequantize, quantized_ops, consumers);
  return {{"quantize", quantize}, {"dequantize", dequantize}, {"quantized_ops", quantized_ops}, {"fp32_consumers", consumers}};
}

}  // namespace mopt::quant
