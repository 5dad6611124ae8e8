// The quantize written as fp32 ops in mopt's INT8 files from LibTorch 1.13, and its restoration:
//   %m = aten::mul(%x, inv);  %r = aten::round_(%m);  %a = aten::add_(%r, float(zp), 1)
//   %c = aten::clamp_(%a, 0., 255.);  %u = aten::to(%c, 0)                     (0 = torch.uint8)
//   %q = aten::_make_per_tensor_quantized_tensor(%u, %scale, %zp)
//   ->
//   %q = aten::quantize_per_tensor(%x, %scale, %zp, 13)                       (13 = torch.quint8)
// Also: quantized::cat rewritten onto LibTorch's fast path (rewrite_quantized_cats).
#include "lib/model/float_quantize.h"

#include <torch/csrc/jit/ir/constants.h>

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "lib/model/graph_walk.h"

namespace mopt {
namespace {

using torch::jit::Node;
using torch::jit::Value;

const c10::Symbol kQuantize = c10::Symbol::fromQualString("aten::quantize_per_tensor");
const c10::Symbol kMakeQuantized = c10::Symbol::fromQualString("aten::_make_per_tensor_quantized_tensor");
const c10::Symbol kRoundInPlace = c10::Symbol::fromQualString("aten::round_");
const c10::Symbol kAddInPlace = c10::Symbol::fromQualString("aten::add_");
const c10::Symbol kClampInPlace = c10::Symbol::fromQualString("aten::clamp_");
const c10::Symbol kQuantizedCat = c10::Symbol::fromQualString("quantized::cat");

std::optional<c10::IValue> constant(const Value* value) { return torch::jit::toIValue(value); }

// The producer of `value` when it is a `kind` node whose output only `value`'s one consumer reads.
Node* sole_producer(Value* value, c10::Symbol kind) {
  Node* node = value->node();
  return node->kind() == kind && value->uses().size() == 1 ? node : nullptr;
}

// The rank of a value when the graph tells it: a typed value, or the output of an op whose rank
// follows from its inputs (2-D convolutions, a view to a size list, chunks of a tensor of known
// rank, elementwise ops: the largest rank among their tensor inputs). Finalized INT8 graphs carry no
// shapes, so the producers are read instead. Memoized: residual graphs reach a value many ways.
class RankReader {
 public:
  std::optional<int64_t> rank(const Value* value, int depth = 0) {
    auto known = memo_.find(value);
    if (known != memo_.end()) return known->second;
    auto result = read(value, depth);
    memo_[value] = result;
    return result;
  }

 private:
  std::optional<int64_t> read(const Value* value, int depth) {
    if (auto type = value->type()->cast<c10::TensorType>(); type && type->dim()) return static_cast<int64_t>(*type->dim());
    if (depth > 64) return std::nullopt;
    const Node* node = value->node();
    const std::string kind = node->kind().toQualString();
    if (kind.rfind("quantized::conv2d", 0) == 0) return 4;
    if ((kind == "aten::view" || kind == "aten::reshape") && node->input(1)->node()->kind() == c10::prim::ListConstruct) {
      return static_cast<int64_t>(node->input(1)->node()->inputs().size());
    }
    if (kind == "prim::ListUnpack") {  // the parts of aten::chunk / aten::split of one tensor
      const Node* split = node->input(0)->node();
      const std::string split_kind = split->kind().toQualString();
      return split_kind == "aten::chunk" || split_kind == "aten::split" ? rank(split->input(0), depth + 1) : std::nullopt;
    }
    // Ops whose output has the largest rank among their tensor inputs (elementwise ops and
    // broadcasts, pooling, layout copies, quantize/dequantize).
    static const std::set<std::string> keeps_rank = {
        "aten::contiguous", "aten::clone", "aten::dequantize", "aten::quantize_per_tensor", "aten::relu", "aten::relu_",
        "aten::hardtanh", "aten::hardtanh_", "aten::max_pool2d", "aten::avg_pool2d", "aten::_make_per_tensor_quantized_tensor",
        "aten::to", "aten::mul", "aten::add", "aten::round_", "aten::add_", "aten::clamp_", "quantized::add",
        "quantized::add_relu", "quantized::mul", "quantized::cat", "quantized::hardswish", "quantized::batch_norm2d",
        "prim::ConstantChunk"};
    if (!keeps_rank.count(kind)) return std::nullopt;
    std::vector<const Value*> tensors;
    for (const Value* input : node->inputs()) {
      if (input->type()->kind() == c10::TypeKind::TensorType) tensors.push_back(input);
      auto list = input->type()->cast<c10::ListType>();
      if (list && list->getElementType()->kind() == c10::TypeKind::TensorType &&
          input->node()->kind() == c10::prim::ListConstruct) {  // quantized::cat's inputs
        for (const Value* element : input->node()->inputs()) tensors.push_back(element);
      }
    }
    std::optional<int64_t> largest;
    for (const Value* tensor : tensors) {
      auto r = rank(tensor, depth + 1);
      if (!r) return std::nullopt;
      largest = std::max(largest.value_or(0), *r);
    }
    return largest;
  }

  std::unordered_map<const Value*, std::optional<int64_t>> memo_;
};

bool channels_last_cat(const Node* cat, RankReader& ranks) {
  auto dim = constant(cat->input(1));
  if (!dim || !dim->isInt() || dim->toInt() != 1) return false;
  for (const Value* x : cat->input(0)->node()->inputs()) {
    if (ranks.rank(x) != 4) return false;
  }
  return true;
}

}  // namespace

QuantizedCatRewrites rewrite_quantized_cats(torch::jit::Graph& graph) {
  QuantizedCatRewrites rewrites;
  RankReader ranks;
  for (auto* node : all_nodes(graph.block())) {
    if (node->kind() != kQuantizedCat || node->inputs().size() != 4) continue;
    Node* list = node->input(0)->node();
    if (list->kind() != c10::prim::ListConstruct || !constant(node->input(2)) || !constant(node->input(3))) continue;
    // A list with other uses may be appended to before the cat (DenseNet's list of features): its
    // ListConstruct does not hold every element, so only the list itself may be handed on.
    if (node->input(0)->uses().size() != 1) continue;
    torch::jit::WithInsertPoint guard(node);
    if (channels_last_cat(node, ranks)) {
      std::vector<Value*> inputs;
      for (Value* x : list->inputs()) {
        inputs.push_back(graph.insert(c10::aten::contiguous, {x}, {torch::jit::NamedValue(
            "memory_format", c10::IValue(static_cast<int64_t>(at::MemoryFormat::ChannelsLast)))}));
      }
      node->replaceInput(0, graph.insertNode(graph.createList(c10::TensorType::get(), inputs))->output());
      if (!list->hasUses()) list->destroy();
      ++rewrites.channels_last;
      continue;
    }
    std::vector<Value*> dequantized;
    for (Value* x : list->inputs()) dequantized.push_back(graph.insert(c10::aten::dequantize, {x}));
    Value* fp32_list = graph.insertNode(graph.createList(c10::TensorType::get(), dequantized))->output();
    Value* joined = graph.insert(c10::aten::cat, {fp32_list, node->input(1)});
    Value* quantized = graph.insert(kQuantize, {joined, node->input(2), node->input(3),
                                                c10::IValue(static_cast<int64_t>(at::kQUInt8))});
    quantized->setType(node->output()->type());
    node->output()->replaceAllUsesWith(quantized);
    node->destroy();
    if (!list->hasUses()) list->destroy();
    ++rewrites.dequantized;
  }
  return rewrites;
}

int64_t restore_quantize_per_tensor(torch::jit::Graph& graph) {
  int64_t restored = 0;
  for (auto* node : all_nodes(graph.block())) {
    if (node->kind() != kMakeQuantized) continue;
    Node* cast = sole_producer(node->input(0), c10::aten::to);
    Node* clamp = cast ? sole_producer(cast->input(0), kClampInPlace) : nullptr;
    Node* add = clamp ? sole_producer(clamp->input(0), kAddInPlace) : nullptr;
    Node* round = add ? sole_producer(add->input(0), kRoundInPlace) : nullptr;
    Node* mul = round ? sole_producer(round->input(0), c10::aten::mul) : nullptr;
    if (!mul) continue;
    torch::jit::WithInsertPoint guard(node);
    Value* quantized = graph.insert(kQuantize, {mul->input(0), node->input(1), node->input(2),
                                                c10::IValue(static_cast<int64_t>(at::kQUInt8))});
    quantized->setType(node->output()->type());
    node->output()->replaceAllUsesWith(quantized);
    for (Node* dead : {node, cast, clamp, add, round, mul}) dead->destroy();
    ++restored;
  }
  return restored;
}

}  // namespace mopt
