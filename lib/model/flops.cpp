#include "lib/model/flops.h"

#include <torch/csrc/jit/passes/inliner.h>
#include <torch/csrc/jit/runtime/interpreter.h>

#include <optional>
#include <unordered_map>

#include "lib/errors.h"

namespace mopt {
namespace {

using torch::jit::Node;
using torch::jit::Value;

// Shapes come from running the graph once rather than from static shape propagation: LibTorch's
// legacy propagation leaves shapes unknown after ops it has no formula for (and then every later
// conv is unknown), while a run sees every size exactly. The values each counted op reads and
// writes are appended as extra graph outputs, so one interpreter run returns all of them.

enum class OpFamily { kConv, kConvTransposed, kConvMaybeTransposed, kLinear, kAddmm, kMatmul, kBaddbmm,
                      kQuantizedLinear, kPackedConv, kFusedAttention, kFusedEncoderLayer };

std::optional<OpFamily> family_of(const Node* node) {
  static const std::unordered_map<std::string, OpFamily> kFamilies = {
      {"aten::conv1d", OpFamily::kConv},
      {"aten::conv2d", OpFamily::kConv},
      {"aten::conv3d", OpFamily::kConv},
      {"aten::mkldnn_convolution", OpFamily::kConv},
      {"aten::conv_transpose1d", OpFamily::kConvTransposed},
      {"aten::conv_transpose2d", OpFamily::kConvTransposed},
      {"aten::conv_transpose3d", OpFamily::kConvTransposed},
      {"aten::_convolution", OpFamily::kConvMaybeTransposed},
      {"aten::convolution", OpFamily::kConvMaybeTransposed},
      {"aten::linear", OpFamily::kLinear},
      {"aten::addmm", OpFamily::kAddmm},
      {"aten::matmul", OpFamily::kMatmul},
      {"aten::mm", OpFamily::kMatmul},
      {"aten::bmm", OpFamily::kMatmul},
      {"aten::baddbmm", OpFamily::kBaddbmm},
      {"quantized::linear", OpFamily::kQuantizedLinear},
      {"quantized::linear_dynamic", OpFamily::kQuantizedLinear},
      {"quantized::conv1d", OpFamily::kPackedConv},
      {"quantized::conv2d", OpFamily::kPackedConv},
      {"quantized::conv3d", OpFamily::kPackedConv},
      {"quantized::conv2d_relu", OpFamily::kPackedConv},
      {"quantized::conv3d_relu", OpFamily::kPackedConv},
      {"mkldnn_prepacked::conv2d_run", OpFamily::kPackedConv},
      {"prim::mkldnn_convolution", OpFamily::kConv},
      {"aten::mkldnn_linear", OpFamily::kLinear},
      // Eval-mode fast paths of nn.MultiheadAttention / nn.TransformerEncoderLayer (batch first).
      {"aten::_native_multi_head_attention", OpFamily::kFusedAttention},
      {"aten::_transformer_encoder_layer_fwd", OpFamily::kFusedEncoderLayer},
  };
  auto it = kFamilies.find(node->kind().toQualString());
  if (it == kFamilies.end()) return std::nullopt;
  return it->second;
}

int64_t product(c10::IntArrayRef sizes, size_t from = 0) {
  int64_t p = 1;
  for (size_t i = from; i < sizes.size(); ++i) p *= sizes[i];
  return p;
}

// Quantized and oneDNN-prepacked convs keep their weight in a TorchBind object: quantized ones
// return (weight, bias) from "unpack", oneDNN contexts lead their "__getstate__" tuple with it.
std::optional<at::Tensor> unpacked_weight(const c10::IValue& packed) {
  if (!packed.isObject()) return std::nullopt;
  auto type = packed.type()->cast<c10::ClassType>();
  if (!type) return std::nullopt;
  for (const char* name : {"unpack", "__getstate__"}) {
    auto* method = type->findMethod(name);
    if (!method) continue;
    torch::jit::Stack stack{packed};
    method->run(stack);
    if (stack.empty() || !stack.back().isTuple()) continue;
    const auto& elements = stack.back().toTupleRef().elements();
    if (!elements.empty() && elements[0].isTensor()) return elements[0].toTensor();
  }
  return std::nullopt;
}

// The interpreter wraps an op's failure in a TorchScript traceback; its last line is the reason.
std::string interpreter_reason(const std::string& what) {
  auto text = short_torch_message(what);
  if (text.find("Traceback of TorchScript") == std::string::npos) return text;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text.substr(text.find_last_of('\n') + 1);
}

// MACs of one op from the values it read (`in`) and wrote (`out`); nullopt when unsizable.
std::optional<int64_t> op_macs(OpFamily family, const std::vector<c10::IValue>& in, const c10::IValue& out) {
  if (!out.isTensor() || in.empty() || !in[0].isTensor()) return std::nullopt;
  const auto out_numel = out.toTensor().numel();
  const auto& x = in[0].toTensor();
  auto weight = [&](size_t i) -> const at::Tensor* { return i < in.size() && in[i].isTensor() ? &in[i].toTensor() : nullptr; };
  switch (family) {
    case OpFamily::kConvMaybeTransposed:
    case OpFamily::kConv:
    case OpFamily::kConvTransposed: {
      const auto* w = weight(1);
      if (!w || w->dim() < 2) return std::nullopt;
      bool transposed = family == OpFamily::kConvTransposed;
      if (family == OpFamily::kConvMaybeTransposed) {
        if (in.size() < 7 || !in[6].isBool()) return std::nullopt;
        transposed = in[6].toBool();
      }
      // Regular: each output element sums C_in/groups * kernel products (weight[1:]). Transposed:
      // each input element is scattered to C_out/groups * kernel outputs, so count per input.
      return (transposed ? x.numel() : out_numel) * product(w->sizes(), 1);
    }
    case OpFamily::kLinear:
    case OpFamily::kQuantizedLinear:
      return x.dim() >= 1 ? std::optional<int64_t>(out_numel * x.size(-1)) : std::nullopt;
    case OpFamily::kMatmul:
      return x.dim() >= 1 ? std::optional<int64_t>(out_numel * x.size(-1)) : std::nullopt;
    case OpFamily::kAddmm:
    case OpFamily::kBaddbmm: {
      const auto* a = weight(1);  // addmm(bias, m1, m2), baddbmm(bias, batch1, batch2)
      if (!a || a->dim() < 1) return std::nullopt;
      return out_numel * a->size(-1);
    }
    case OpFamily::kFusedAttention: {
      // (query, key, value, embed_dim, num_head, qkv_weight, qkv_bias, proj_weight, ...)
      const auto* key = weight(1);
      if (!key || x.dim() < 2 || key->dim() != x.dim()) return std::nullopt;
      const int64_t e = x.size(-1);
      const int64_t batch = x.dim() == 3 ? x.size(0) : 1;
      const int64_t q_tokens = x.numel() / e, k_tokens = key->numel() / e;
      // q and out projections per query token, k and v per key token, scores and context.
      return 2 * q_tokens * e * e + 2 * k_tokens * e * e + 2 * q_tokens * (k_tokens / batch) * e;
    }
    case OpFamily::kFusedEncoderLayer: {
      // (src, embed_dim, num_heads, qkv_weight, qkv_bias, proj_weight, proj_bias, use_gelu,
      //  norm_first, eps, norm 1 w/b, norm 2 w/b, ffn_weight_1, ffn_bias_1, ffn_weight_2, ...)
      const auto* ffn = weight(14);
      if (!ffn || x.dim() < 2 || ffn->dim() != 2) return std::nullopt;
      const int64_t e = x.size(-1);
      const int64_t length = x.size(-2);
      const int64_t tokens = x.numel() / e;
      return 4 * tokens * e * e + 2 * tokens * length * e + 2 * tokens * e * ffn->size(0);
    }
    case OpFamily::kPackedConv: {
      if (in.size() < 2) return std::nullopt;
      auto w = unpacked_weight(in[1]);
      if (!w || w->dim() < 2) return std::nullopt;
      return out_numel * product(w->sizes(), 1);
    }
  }
  return std::nullopt;
}

// Frozen eval clone when possible: constants fold away training-only branches. A module that is
// already frozen (no "training" attribute) or refuses to freeze is only inlined.
torch::jit::Module prepared_clone(const Model& model) {
  auto module = model.clone().torchscript();
  if (!module.hasattr("training")) return module;
  module.eval();
  try {
    return torch::jit::freeze(module);
  } catch (const c10::Error&) {
    return module;
  }
}

void collect_ops(torch::jit::Block* block, std::vector<Node*>& ops) {
  for (auto* node : block->nodes()) {
    if (family_of(node) && !node->outputs().empty()) ops.push_back(node);
    for (auto* sub : node->blocks()) collect_ops(sub, ops);
  }
}

// Makes values visible as extra graph outputs. A value inside prim::If branches is threaded out
// as an Optional output of each enclosing If (None from the branches that do not define it), so
// after the run None means "that branch did not execute". Values inside loops (one per
// iteration) cannot be exposed this way.
class ValueExposer {
 public:
  explicit ValueExposer(std::shared_ptr<torch::jit::Graph> graph)
      : graph_(std::move(graph)), first_slot_(graph_->outputs().size()) {}

  /// False when the value lives inside a loop.
  bool expose(Value* value) {
    if (slot_of_.count(value)) return true;
    Value* top = lift(value);
    if (!top) return false;
    slot_of_[value] = first_slot_ + slot_of_.size();
    graph_->registerOutput(top);
    return true;
  }

  /// The slot on the interpreter's stack where an exposed value ends up.
  size_t slot(Value* value) const { return slot_of_.at(value); }

 private:
  Value* lift(Value* value) {
    while (value->node()->owningBlock() != graph_->block()) {
      auto* block = value->node()->owningBlock();
      auto* owner = block->owningNode();
      if (owner->kind() != c10::prim::If || value->node() == block->param_node()) return nullptr;
      for (auto* branch : owner->blocks()) {
        if (branch == block) {
          branch->registerOutput(value);
        } else {
          torch::jit::WithInsertPoint guard(branch->return_node());
          branch->registerOutput(graph_->insertConstant(c10::IValue()));
        }
      }
      value = owner->addOutput()->setType(c10::OptionalType::create(value->type()));
    }
    return value;
  }

  std::shared_ptr<torch::jit::Graph> graph_;
  size_t first_slot_;
  std::unordered_map<Value*, size_t> slot_of_;
};

}  // namespace

MacCount count_macs(const Model& model, const std::vector<torch::Tensor>& examples) {
  MacCount count;
  if (!model.is_torchscript()) {
    count.complete = false;
    return count;
  }
  auto module = prepared_clone(model);
  auto method = module.find_method("forward");
  if (!method) throw invalid_input("the model has no forward method to count MACs of");
  try {
    // A plain call first: LibTorch's interpreter crashes while describing an op failure in the
    // instrumented copy below (the inlined call stack points at the methods freezing replaced).
    c10::InferenceMode guard;
    std::vector<c10::IValue> inputs(examples.begin(), examples.end());
    (*method)(inputs);
  } catch (const std::exception& e) {
    throw invalid_input("cannot count MACs: the example input does not fit the model: " + interpreter_reason(e.what()));
  }
  auto graph = method->graph()->copy();
  torch::jit::Inline(*graph);
  // Inputs after the examples take their declared defaults (e.g. a transformer's optional masks);
  // a forward that needs more tensors than given cannot be driven by them.
  torch::jit::Stack stack{module._ivalue()};
  stack.insert(stack.end(), examples.begin(), examples.end());
  const auto& arguments = method->function().getSchema().arguments();
  for (size_t i = stack.size(); i < graph->inputs().size(); ++i) {
    if (i >= arguments.size() || !arguments[i].default_value()) {
      count.complete = false;
      return count;
    }
    stack.push_back(*arguments[i].default_value());
  }

  std::vector<Node*> ops;
  collect_ops(graph->block(), ops);
  ValueExposer exposer(graph);
  std::vector<Node*> exposed;
  for (auto* node : ops) {
    bool ok = exposer.expose(node->outputs().at(0));
    for (auto* input : node->inputs()) ok = ok && exposer.expose(input);
    if (ok) {
      exposed.push_back(node);
    } else {
      count.complete = false;
    }
  }

  try {
    c10::InferenceMode guard;
    torch::jit::Code code(graph, "mopt_count_macs");
    torch::jit::InterpreterState(code).run(stack);
  } catch (const std::exception& e) {
    // The interpreter re-throws op failures as plain runtime errors carrying the TorchScript trace.
    throw invalid_input("cannot count MACs: the example input does not fit the model: " + interpreter_reason(e.what()));
  }

  for (auto* node : exposed) {
    const auto& out = stack.at(exposer.slot(node->outputs().at(0)));
    if (out.isNone()) continue;  // in a branch that did not run
    std::vector<c10::IValue> in;
    for (auto* input : node->inputs()) in.push_back(stack.at(exposer.slot(input)));
    std::optional<int64_t> macs;
    try {
      macs = op_macs(*family_of(node), in, out);
    } catch (const c10::Error&) {
      macs = std::nullopt;
    }
    if (macs) {
      count.macs += *macs;
      ++count.layers;
    } else {
      count.complete = false;
    }
  }
  return count;
}

}  // namespace mopt
