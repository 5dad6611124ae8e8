#include "passes/graph/reloadable_mkldnn.h"

#include <fmt/format.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>

#include <string>
#include <vector>

#include "lib/model/graph_walk.h"

#include "passes/graph/onednn_shapes.h"

namespace mopt {
namespace {

using torch::jit::Node;
using torch::jit::Value;

std::string int_list(const Value* value) {
  return fmt::format("[{}]", fmt::join(torch::jit::toIValue(value)->toIntVector(), ", "));
}

// The TorchScript expression that rebuilds `constant` in oneDNN form from `dense`, its dense copy.
std::string packing_expression(const Node* constant, const std::string& dense) {
  for (const auto& use : constant->output()->uses()) {
    const Node* user = use.user;
    if (is_kind(user, "prim::mkldnn_convolution") && use.offset == 1) {
      // (input, weight, bias, stride, padding, dilation, groups) -> reorder(weight, padding, stride,
      // dilation, groups): the blocked layout the conv expects, made once instead of every call.
      // A Conv3d's 5-d weight needs the 3-d reorder (the 2-d one flattens it to 4-d).
      const bool conv3d = constant->t(c10::attr::value).dim() == 5;
      return fmt::format("{}({}.to_mkldnn(), {}, {}, {}, {})",
                         conv3d ? "torch.mkldnn_reorder_conv3d_weight" : "torch.mkldnn_reorder_conv2d_weight", dense,
                         int_list(user->input(4)), int_list(user->input(3)), int_list(user->input(5)),
                         torch::jit::toIValue(user->input(6))->toInt());
    }
  }
  return dense + ".to_mkldnn()";
}

// LibTorch 1.13's in-place oneDNN unary ops (prim::MKLDNNHardSwish_, MKLDNNHardSigmoid_, ...) run an
// ATen kernel over the raw buffer and get it wrong when oneDNN pads the channels to its block (16
// with AVX-512, 8 with AVX2; LibTorch warns that it resized the output): a conv -> hardtanh ->
// depthwise conv of 8, 12 or 24 channels came out 30-70 off in PyTorch's own
// optimize_for_inference, while 16, 32 and 48 channels were exact.
constexpr int64_t kOneDnnChannelBlock = 16;

// True when `value` comes from a oneDNN conv whose output channels fill whole blocks.
bool unpadded_conv_output(const Value* value) {
  const Node* producer = value->node();
  if (!is_kind(producer, "prim::mkldnn_convolution")) return false;
  const Node* weight = producer->input(1)->node();
  return is_kind(weight, "prim::ConstantMKLDNNTensor") &&
         weight->t(c10::attr::value).size(0) % kOneDnnChannelBlock == 0;
}

// A copy of a prim::ConstantMKLDNNTensor holding `dense` (in oneDNN form), inserted before `before`.
Value* mkldnn_constant_like(torch::jit::Graph& graph, Node* original, const at::Tensor& dense, Node* before) {
  auto* node = graph.create(original->kind(), 1);
  node->t_(c10::attr::value, dense.to_mkldnn());
  node->output()->setType(original->output()->type());
  node->insertBefore(before);
  return node->output();
}

// ReLU6 between oneDNN convolutions without leaving oneDNN:
//   Before: y = conv(x, W, b);  r = hardtanh_(y, 0, 6);  z_k = conv_k(r, V_k, c_k)
//   After:  y = conv(x, W, b - 3);  h = hardsigmoid_(y);  z_k = conv_k(h, 6 V_k, c_k)
// since hardsigmoid(y - 3) = clamp(y / 6, 0, 1) = relu6(y) / 6, and each reader is linear in its
// input (zero padding included), so scaling its weights by 6 restores relu6. LibTorch has a
// serializable in-place oneDNN hardsigmoid but no serializable hardtanh (its bounds are node
// attributes), so this keeps MobileNetV2's activations out of dense round trips. It is not free:
// ATen's hardsigmoid kernel divides and is slower than the clamp only an in-memory graph can hold
// (scripts/bench/onednn_relu6_kernels.py), most of what the compiled MobileNetV2 gives back to
// PyTorch's in-memory optimize_for_inference.
// Preconditions: the clamp is [0, 6], its input comes only from a conv with a constant bias and
// unpadded channels, and every reader is a conv taking it as its data input with a constant weight.
bool relu6_as_hardsigmoid(torch::jit::Graph& graph, Node* hardtanh) {
  if (hardtanh->f(c10::Symbol::attr("min_val")) != 0.0 || hardtanh->f(c10::Symbol::attr("max_val")) != 6.0) return false;
  Node* producer = hardtanh->input(0)->node();
  if (!unpadded_conv_output(hardtanh->input(0)) || producer->output()->uses().size() != 1) return false;
  if (!is_kind(producer->input(2)->node(), "prim::ConstantMKLDNNTensor")) return false;
  const auto readers = hardtanh->output()->uses();
  if (readers.empty()) return false;
  for (const auto& use : readers) {
    if (!is_kind(use.user, "prim::mkldnn_convolution") || use.offset != 0) return false;
    if (!is_kind(use.user->input(1)->node(), "prim::ConstantMKLDNNTensor")) return false;
  }
  Node* bias = producer->input(2)->node();
  producer->replaceInput(2, mkldnn_constant_like(graph, bias, bias->t(c10::attr::value).to_dense() - 3.0, producer));
  for (const auto& use : readers) {
    Node* weight = use.user->input(1)->node();
    use.user->replaceInput(1, mkldnn_constant_like(graph, weight, weight->t(c10::attr::value).to_dense() * 6.0, use.user));
  }
  auto* sigmoid = graph.create(c10::Symbol::fromQualString("prim::MKLDNNHardSigmoid_"), {hardtanh->input(0)}, 1);
  sigmoid->output()->setType(hardtanh->output()->type());
  sigmoid->insertBefore(hardtanh);
  hardtanh->output()->replaceAllUsesWith(sigmoid->output());
  hardtanh->destroy();
  return true;
}

// A residual add's prim::BroadcastMKLDNNTensors whose operands provably have one shape (the
// residual branch keeps its input's sizes) is dropped: as a file it would be a method call and a
// size comparison on every call (10 in MobileNetV2, 8 in ResNet-18). Returns how many.
int64_t drop_needless_broadcasts(torch::jit::Graph& graph) {
  OneDnnShapes shapes;
  std::vector<Node*> needless;
  for (auto* node : graph.nodes()) {
    if (is_kind(node, "prim::BroadcastMKLDNNTensors") && shapes.same(node->input(0), node->input(1))) {
      needless.push_back(node);
    }
  }
  for (auto* node : needless) {
    for (size_t k = 0; k < 2; ++k) node->output(k)->replaceAllUsesWith(node->input(k));
    node->destroy();
  }
  return static_cast<int64_t>(needless.size());
}

// Replaces one-output `node` by self.METHOD(inputs...) at the current insert point.
void replace_with_method_call(torch::jit::Graph& graph, Node* node, const std::string& method,
                              at::ArrayRef<Value*> inputs) {
  auto* call = graph.insertNode(graph.create(c10::prim::CallMethod, inputs, 1));
  call->s_(c10::attr::name, method);
  call->output()->setType(node->output()->type());
  node->output()->replaceAllUsesWith(call->output());
  node->destroy();
}

// Whether every other reader of the node's input runs before it (an in-place op then changes
// nothing anyone reads).
bool read_only_before(const Node* node) {
  for (const auto& use : node->input(0)->uses()) {
    if (use.user != node && !use.user->isBefore(node)) return false;
  }
  return true;
}

}  // namespace

int64_t make_mkldnn_reloadable(torch::jit::Module& module) {
  auto graph = module.get_method("forward").graph();
  Value* self = graph->inputs().at(0);
  int64_t relu6_rewrites = 0;
  std::vector<Node*> clamps;
  for (auto* node : graph->nodes()) {
    if (is_kind(node, "prim::MKLDNNHardTanh_") || is_kind(node, "prim::MKLDNNHardTanh")) clamps.push_back(node);
  }
  for (auto* node : clamps) relu6_rewrites += relu6_as_hardsigmoid(*graph, node) ? 1 : 0;
  torch::jit::EliminateDeadCode(graph);  // the constants the rewrite replaced
  const int64_t broadcasts_dropped = drop_needless_broadcasts(*graph);

  std::vector<Node*> constants, broadcasts, hardtanhs, padded_unary;
  for (auto* node : graph->nodes()) {
    const std::string kind = node->kind().toQualString();
    if (kind == "prim::ConstantMKLDNNTensor") constants.push_back(node);
    if (kind == "prim::BroadcastMKLDNNTensors") broadcasts.push_back(node);
    // Out of place, or in place where nothing reads the input afterwards, so an out-of-place
    // replacement is exact (its attributes would not load back: LibTorch cannot read them).
    // MKLDNNClamp is the same op made from aten::clamp (ONNX's HardSigmoid imports as one).
    const bool clamp = kind == "prim::MKLDNNHardTanh" || kind == "prim::MKLDNNClamp";
    const bool clamp_ = kind == "prim::MKLDNNHardTanh_" || kind == "prim::MKLDNNClamp_";
    if (clamp || (clamp_ && read_only_before(node))) {
      hardtanhs.push_back(node);
    }
    if ((kind == "prim::MKLDNNHardSwish_" || kind == "prim::MKLDNNHardSigmoid_") && node->input(0)->uses().size() == 1 &&
        !unpadded_conv_output(node->input(0))) {
      padded_unary.push_back(node);
    }
  }
  if (constants.empty() && broadcasts.empty() && hardtanhs.empty() && padded_unary.empty()) {
    return relu6_rewrites + broadcasts_dropped;
  }

  // The file holds dense copies (an oneDNN tensor could not be read back); loading packs them once,
  // in __setstate__, so a call reads each packed weight as a plain attribute.
  std::string methods;
  std::vector<std::string> state_types, state_values, restores;
  for (size_t i = 0; i < constants.size(); ++i) {
    module.register_attribute(fmt::format("mopt_packed_{}", i), c10::TensorType::get(),
                              constants[i]->t(c10::Symbol::attr("value")));
    state_types.push_back("Tensor");
    state_values.push_back(fmt::format("self.mopt_packed_{}.to_dense()", i));
    restores.push_back(fmt::format("    self.mopt_packed_{} = {}\n", i,
                                   packing_expression(constants[i], fmt::format("state[{}]", i))));
  }
  methods += R"(
def mopt_broadcast(self, a: Tensor, b: Tensor) -> Tuple[Tensor, Tensor]:
    if a.size() == b.size():
        return a, b
    dense = torch.broadcast_tensors([a.to_dense(), b.to_dense()])
    return dense[0].contiguous().to_mkldnn(), dense[1].contiguous().to_mkldnn()

def mopt_hardtanh(self, x: Tensor, low: float, high: float) -> Tensor:
    return torch.hardtanh_(x.to_dense(), low, high).to_mkldnn()

def mopt_hardswish(self, x: Tensor) -> Tensor:
    return torch.hardswish_(x.to_dense()).to_mkldnn()

def mopt_hardsigmoid(self, x: Tensor) -> Tensor:
    return torch.hardsigmoid_(x.to_dense()).to_mkldnn()
)";
  if (!constants.empty()) {
    methods += fmt::format("\ndef __getstate__(self) -> Tuple[{}]:\n    return ({},)\n", fmt::join(state_types, ", "),
                           fmt::join(state_values, ", "));
    methods += fmt::format("\ndef __setstate__(self, state: Tuple[{}]) -> None:\n{}", fmt::join(state_types, ", "),
                           fmt::join(restores, ""));
  }
  module.define(methods);

  for (size_t i = 0; i < constants.size(); ++i) {
    torch::jit::WithInsertPoint guard(constants[i]);
    auto* read = graph->insertGetAttr(self, fmt::format("mopt_packed_{}", i));
    read->setType(constants[i]->output()->type());
    constants[i]->output()->replaceAllUsesWith(read);
    constants[i]->destroy();
  }
  for (auto* node : broadcasts) {
    torch::jit::WithInsertPoint guard(node);
    auto* call = graph->insertNode(graph->create(c10::prim::CallMethod, {self, node->input(0), node->input(1)}, 1));
    call->s_(c10::attr::name, "mopt_broadcast");
    call->output()->setType(c10::TupleType::create({c10::TensorType::get(), c10::TensorType::get()}));
    auto* unpack = graph->insertNode(graph->createTupleUnpack(call->output()));
    for (size_t k = 0; k < 2; ++k) {
      unpack->output(k)->setType(node->output(k)->type());
      node->output(k)->replaceAllUsesWith(unpack->output(k));
    }
    node->destroy();
  }
  for (auto* node : hardtanhs) {
    torch::jit::WithInsertPoint guard(node);
    auto* low = graph->insertConstant(node->f(c10::Symbol::attr("min_val")));
    auto* high = graph->insertConstant(node->f(c10::Symbol::attr("max_val")));
    replace_with_method_call(*graph, node, "mopt_hardtanh", {self, node->input(0), low, high});
  }
  for (auto* node : padded_unary) {
    torch::jit::WithInsertPoint guard(node);
    replace_with_method_call(*graph, node, is_kind(node, "prim::MKLDNNHardSwish_") ? "mopt_hardswish" : "mopt_hardsigmoid",
                             {self, node->input(0)});
  }
  torch::jit::EliminateDeadCode(graph);
  return relu6_rewrites + broadcasts_dropped +
         static_cast<int64_t>(constants.size() + broadcasts.size() + hardtanhs.size() + padded_unary.size());
}

}  // namespace mopt
