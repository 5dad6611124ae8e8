#include "passes/graph/onednn_shapes.h"

#include <optional>
#include <string>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace mopt {
namespace {

using torch::jit::Node;
using torch::jit::Value;

// A value's sizes as a function of a source value's: [N, channels, f(H), f(W)], where f applies
// each spatial step in turn. Two values whose signatures are equal have equal sizes.
struct SpatialStep {
  // d -> floor((d + offset) / stride) + 1, a convolution's output size with
  // offset = 2 * padding - dilation * (kernel - 1) - 1.
  int64_t offset_h, stride_h, offset_w, stride_w;
  bool operator==(const SpatialStep& o) const {
    return std::tie(offset_h, stride_h, offset_w, stride_w) == std::tie(o.offset_h, o.stride_h, o.offset_w, o.stride_w);
  }
};

struct ShapeSignature {
  const Value* source = nullptr;
  std::optional<int64_t> channels;  // unset: the source's own channel count
  std::vector<SpatialStep> steps;
  bool operator==(const ShapeSignature& o) const {
    return source == o.source && channels == o.channels && steps == o.steps;
  }
};

// Ops whose output has their first input's sizes (the in-place oneDNN activations LibTorch's
// pass emits, and the oneDNN-capable aten ones).
const std::unordered_set<std::string>& shape_keeping_ops() {
  static const std::unordered_set<std::string> ops{
      "prim::MKLDNNHardTanh_", "prim::MKLDNNHardTanh", "prim::MKLDNNHardSigmoid_", "prim::MKLDNNHardSigmoid",
      "prim::MKLDNNHardSwish_", "prim::MKLDNNHardSwish", "prim::MKLDNNClamp_",     "prim::MKLDNNClamp",
      "prim::MKLDNNScalarMul_", "prim::MKLDNNScalarMul",  "aten::relu",               "aten::relu_",
      "aten::sigmoid",          "aten::sigmoid_",         "aten::tanh",               "aten::tanh_",
      "aten::gelu"};
  return ops;
}

std::optional<std::vector<int64_t>> constant_ints(const Value* value) {
  auto ivalue = torch::jit::toIValue(value);
  if (!ivalue || !ivalue->isIntList()) return std::nullopt;
  return ivalue->toIntVector();
}

// Appends the spatial step of a window of `kernel` (dilated by `dilation`) moved by `stride` over
// `padding`-padded input, and returns the signature, or nothing when a size is not known.
std::optional<ShapeSignature> windowed(ShapeSignature input, const std::vector<int64_t>& kernel,
                                       const std::vector<int64_t>& stride, const std::vector<int64_t>& padding,
                                       const std::vector<int64_t>& dilation) {
  for (const auto* sizes : {&kernel, &stride, &padding, &dilation}) {
    if (sizes->size() != 2) return std::nullopt;
  }
  auto offset = [&](size_t d) { return 2 * padding[d] - dilation[d] * (kernel[d] - 1) - 1; };
  const SpatialStep step{offset(0), stride[0], offset(1), stride[1]};
  if (step.offset_h != -1 || step.stride_h != 1 || step.offset_w != -1 || step.stride_w != 1) {
    input.steps.push_back(step);  // offset -1 with stride 1 is the identity ("same" padding)
  }
  return input;
}

// prim::mkldnn_convolution(input, weight, bias, stride, padding, dilation, groups): output channels
// from the constant weight.
std::optional<ShapeSignature> convolution_signature(const Node* conv, const ShapeSignature& input) {
  const Node* weight = conv->input(1)->node();
  if (weight->kind().toQualString() != std::string("prim::ConstantMKLDNNTensor")) return std::nullopt;
  const auto& w = weight->t(c10::attr::value);
  const auto stride = constant_ints(conv->input(3)), padding = constant_ints(conv->input(4)),
             dilation = constant_ints(conv->input(5));
  if (w.dim() != 4 || !stride || !padding || !dilation) return std::nullopt;
  auto output = windowed(input, {w.size(2), w.size(3)}, *stride, *padding, *dilation);
  if (output) output->channels = w.size(0);
  return output;
}

// aten::max_pool2d(input, kernel, stride, padding, dilation, ceil_mode) keeps the channels; an
// empty stride means the kernel's. Rounding up (ceil_mode) is not modelled.
std::optional<ShapeSignature> max_pool_signature(const Node* pool, const ShapeSignature& input) {
  const auto kernel = constant_ints(pool->input(1)), stride = constant_ints(pool->input(2)),
             padding = constant_ints(pool->input(3)), dilation = constant_ints(pool->input(4));
  const auto ceil_mode = torch::jit::toIValue(pool->input(5));
  if (!kernel || !stride || !padding || !dilation || !ceil_mode || !ceil_mode->isBool() || ceil_mode->toBool()) {
    return std::nullopt;
  }
  return windowed(input, *kernel, stride->empty() ? *kernel : *stride, *padding, *dilation);
}

ShapeSignature derive(const Value* value, std::unordered_map<const Value*, ShapeSignature>& memo);

ShapeSignature signature(const Value* value, std::unordered_map<const Value*, ShapeSignature>& memo) {
  // Memoized: a residual chain reaches each value through both operands of every add.
  auto found = memo.find(value);
  if (found != memo.end()) return found->second;
  ShapeSignature derived = derive(value, memo);
  memo.emplace(value, derived);
  return derived;
}

ShapeSignature derive(const Value* value, std::unordered_map<const Value*, ShapeSignature>& memo) {
  const Node* node = value->node();
  const std::string kind = node->kind().toQualString();
  if (kind == "prim::mkldnn_convolution") {
    if (auto conv = convolution_signature(node, signature(node->input(0), memo))) return *conv;
  } else if (kind == "aten::max_pool2d" && node->inputs().size() == 6) {
    if (auto pool = max_pool_signature(node, signature(node->input(0), memo))) return *pool;
  } else if (shape_keeping_ops().count(kind) && node->outputs().size() == 1) {
    return signature(node->input(0), memo);
  } else if ((kind == "aten::add" || kind == "aten::add_" || kind == "aten::mul" || kind == "aten::mul_") &&
             node->inputs().size() >= 2) {
    // Without broadcasting (equal operand sizes) the result has the operands' sizes.
    auto lhs = signature(node->input(0), memo);
    if (lhs == signature(node->input(1), memo)) return lhs;
  } else if (kind == "prim::BroadcastMKLDNNTensors") {
    auto lhs = signature(node->input(0), memo);
    if (lhs == signature(node->input(1), memo)) return lhs;
  }
  return ShapeSignature{value, std::nullopt, {}};
}

}  // namespace

struct OneDnnShapes::Memo {
  std::unordered_map<const Value*, ShapeSignature> signatures;
};

OneDnnShapes::OneDnnShapes() : memo_(std::make_unique<Memo>()) {}
OneDnnShapes::~OneDnnShapes() = default;

bool OneDnnShapes::same(const Value* a, const Value* b) {
  return a == b || signature(a, memo_->signatures) == signature(b, memo_->signatures);
}

}  // namespace mopt
