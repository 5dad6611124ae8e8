#include "lib/onnx/export/export_graph.h"

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/ir/constants.h>
#include <torch/csrc/jit/passes/constant_propagation.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/freeze_module.h>
#include <torch/csrc/jit/passes/inliner.h>
#include <torch/csrc/jit/passes/loop_unrolling.h>
#include <torch/csrc/jit/passes/lower_tuples.h>
#include <torch/csrc/jit/passes/peephole.h>
#include <torch/csrc/jit/passes/peephole_list_idioms.h>
#include <torch/csrc/jit/passes/remove_mutation.h>
#include <torch/csrc/jit/passes/symbolic_shape_analysis.h>

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>

#include "lib/errors.h"
#include "lib/model/float_quantize.h"
#include "lib/model/graph_walk.h"
#include "lib/onnx/export/appended_lists.h"
#include "lib/onnx/export/dict_outputs.h"
#include "lib/onnx/export/helper_calls.h"
#include "lib/onnx/import/onnx_importer.h"

namespace mopt::onnx_export {
namespace {

using torch::jit::Block;
using torch::jit::Graph;
using torch::jit::Node;
using torch::jit::Value;

constexpr int kMaxRounds = 16;  // each round needs something newly folded; models settle in 2-4

// A block that only raises (after building its message) or does nothing.
bool raises_or_nothing(const Block* block) {
  bool raises = false;
  for (const auto* node : block->nodes()) {
    if (node->kind() == c10::prim::RaiseException) raises = true;
    else if (node->kind() != c10::prim::Constant && (node->hasSideEffects() || !node->blocks().empty())) return false;
  }
  return raises || std::all_of(block->nodes().begin(), block->nodes().end(),
                               [](const Node* n) { return n->kind() == c10::prim::Constant; });
}

// A prim::If with no outputs whose branches either raise or do nothing: an argument check (e.g.
// torchvision's "input must be at least 3-D"). The exported graph keeps the happy path.
bool is_assertion(const Node* node) {
  if (node->kind() != c10::prim::If || !node->outputs().empty()) return false;
  return std::all_of(node->blocks().begin(), node->blocks().end(), raises_or_nothing);
}

int remove_assertions(Block* block) {
  int removed = 0;
  for (auto it = block->nodes().begin(); it != block->nodes().end();) {
    auto* node = *it;
    ++it;
    if (is_assertion(node)) {
      node->destroy();
      ++removed;
      continue;
    }
    for (auto* sub : node->blocks()) removed += remove_assertions(sub);
  }
  return removed;
}

// Queries about how PyTorch runs, not about what the model computes, answered so that the
// general path (ops ONNX has) is the one kept.
c10::optional<c10::IValue> environment_answer(const Node* node) {
  static const std::map<std::string, bool> kAnswers = {
      {"aten::is_grad_enabled", true}, {"prim::requires_grad", true}, {"aten::is_autocast_enabled", false},
      {"prim::is_cuda", false},        {"prim::is_nested", false},
  };
  const std::string kind = node->kind().toQualString();
  auto it = kAnswers.find(kind);
  if (it != kAnswers.end()) return c10::IValue(it->second);
  if (node->kind() == c10::prim::device) return c10::IValue(c10::Device(c10::kCPU));
  // `x is x` (nn.MultiheadAttention's self-attention test) once both sides are the same value.
  if (node->kind() == c10::aten::__is__ && node->inputs().size() == 2 && node->input(0) == node->input(1)) {
    return c10::IValue(true);
  }
  if (node->kind() == c10::aten::__isnot__ && node->inputs().size() == 2 && node->input(0) == node->input(1)) {
    return c10::IValue(false);
  }
  return c10::nullopt;
}

c10::optional<c10::IValue> known_rank(const Node* node) {
  if (node->kind() != c10::aten::dim || node->inputs().size() != 1) return c10::nullopt;
  auto type = node->input(0)->type()->cast<c10::TensorType>();
  if (!type || !type->dim()) return c10::nullopt;
  return c10::IValue(static_cast<int64_t>(*type->dim()));
}

c10::optional<size_t> rank_of(const Value* value) {
  auto type = value->type()->cast<c10::TensorType>();
  return type ? type->dim() : c10::nullopt;
}

// Ops whose output has the rank of their first input (elementwise with a scalar or a same-rank
// tensor, normalizations, activations, linear layers, transposes).
bool keeps_rank(const Node* node) {
  static const std::set<std::string> kKinds = {
      "aten::linear",  "aten::layer_norm", "aten::batch_norm", "aten::relu",     "aten::gelu",    "aten::sigmoid",
      "aten::tanh",    "aten::softmax",    "aten::log_softmax", "aten::contiguous", "aten::dropout", "aten::transpose",
      "aten::sqrt",    "aten::silu",       "aten::hardswish",  "aten::hardtanh",  "aten::clone",   "aten::slice",
      "aten::permute"};
  return kKinds.count(node->kind().toQualString()) > 0;
}

// LibTorch's symbolic shape analysis gives up after a view whose sizes are computed (attention's
// head split), leaving every later tensor rankless. Ranks follow from the ops alone there: fill in
// what it left, in graph order.
void complete_ranks(Block* block) {
  for (auto* node : block->nodes()) {
    for (auto* sub : node->blocks()) complete_ranks(sub);
    if (node->outputs().size() != 1) continue;
    auto* out = node->output();
    auto type = out->type()->cast<c10::TensorType>();
    if (!type || type->dim()) continue;
    c10::optional<size_t> rank;
    const auto kind = node->kind();
    if ((kind == c10::aten::view || kind == c10::aten::reshape) && node->input(1)->node()->kind() == c10::prim::ListConstruct) {
      rank = node->input(1)->node()->inputs().size();
    } else if (keeps_rank(node)) {
      rank = rank_of(node->input(0));
    } else if (kind == c10::aten::add || kind == c10::aten::sub || kind == c10::aten::mul || kind == c10::aten::div ||
               kind == c10::aten::bmm || kind == c10::aten::matmul) {
      auto a = rank_of(node->input(0));
      auto b = node->input(1)->type()->cast<c10::TensorType>() ? rank_of(node->input(1)) : c10::optional<size_t>(0);
      if (a && b) rank = std::max(*a, *b);
    } else if (kind == c10::prim::TupleIndex && node->input(0)->node()->kind() == c10::prim::TupleConstruct) {
      auto index = torch::jit::toIValue(node->input(1));
      if (index && index->isInt()) rank = rank_of(node->input(0)->node()->input(static_cast<size_t>(index->toInt())));
    }
    if (rank) out->setType(type->withDim(rank));
  }
}

// Runs the graph once on the examples and types every tensor value of its top-level block with the
// dtype and rank it took. Translators need the dtype (a scalar constant or a Clip bound takes its
// operand's type); prim::dtype and aten::dim of such values fold. Sizes stay unknown: the export
// keeps them dynamic. A graph the examples cannot run keeps its values untyped.
void record_types(std::shared_ptr<Graph>& graph, const torch::jit::Module& module, const std::vector<at::Tensor>& examples,
                  ExportableGraph* result = nullptr) {
  auto probe = graph->copy();
  std::vector<Value*> originals, copies;
  auto original_nodes = graph->nodes(), copied_nodes = probe->nodes();
  for (auto o = original_nodes.begin(), c = copied_nodes.begin(); o != original_nodes.end(); ++o, ++c) {
    for (size_t i = 0; i < o->outputs().size(); ++i) {
      if (!o->outputs()[i]->type()->cast<c10::TensorType>()) continue;
      originals.push_back(o->outputs()[i]);
      copies.push_back(c->outputs()[i]);
    }
  }
  for (size_t i = 1; i < graph->inputs().size(); ++i) originals.push_back(graph->inputs()[i]);
  for (size_t i = 1; i < probe->inputs().size(); ++i) copies.push_back(probe->inputs()[i]);
  // Return the values probed, as one tuple (a function returns one value).
  while (!probe->outputs().empty()) probe->eraseOutput(probe->outputs().size() - 1);
  probe->registerOutput(probe->insertNode(probe->createTuple(copies))->output());
  torch::jit::Stack stack{module._ivalue()};
  stack.insert(stack.end(), examples.begin(), examples.end());
  try {
    torch::NoGradGuard no_grad;
    torch::jit::GraphFunction("dtype_probe", probe, nullptr).run(stack);
  } catch (const std::exception&) {
    return;
  }
  if (stack.size() != 1 || !stack[0].isTuple()) return;
  const auto& probed = stack[0].toTupleRef().elements();
  for (size_t i = 0; i < originals.size(); ++i) {
    const auto& value = probed[i];
    if (!value.isTensor()) continue;
    auto type = originals[i]->type()->expect<c10::TensorType>()->withScalarType(value.toTensor().scalar_type());
    if (!type->dim()) type = type->withDim(static_cast<size_t>(value.toTensor().dim()));
    originals[i]->setType(type);
    const auto& tensor = value.toTensor();
    if (!result) continue;
    result->example_sizes[originals[i]] = tensor.sizes().vec();
    if (tensor.is_quantized() && tensor.qscheme() == at::kPerTensorAffine) {
      result->quantized[originals[i]] = {tensor.q_scale(), tensor.q_zero_point(), tensor.scalar_type()};
    }
  }
}

// Freezing keeps TorchBind attributes (LibTorch INT8's packed weights) as prim::GetAttr of the
// module: make them constants, which translators read like any other.
void fold_object_attributes(Graph& graph, const torch::jit::Module& module) {
  std::unordered_map<const Value*, c10::IValue> objects{{graph.inputs()[0], module._ivalue()}};
  for (auto it = graph.nodes().begin(); it != graph.nodes().end();) {
    auto* node = *it;
    ++it;
    if (node->kind() != c10::prim::GetAttr) continue;
    auto owner = objects.find(node->input());
    if (owner == objects.end() || !owner->second.isObject()) continue;
    auto value = owner->second.toObjectRef().getAttr(node->s(c10::attr::name));
    if (!value.isObject()) continue;
    if (value.toObjectRef().type()->is_module()) {
      objects[node->output()] = value;
      continue;
    }
    torch::jit::WithInsertPoint point(node);
    auto constant = torch::jit::tryInsertConstant(graph, value);
    if (!constant) continue;
    node->output()->replaceAllUsesWith(*constant);
    node->destroy();
  }
}

// A prim::dtype of a value whose dtype is known.
c10::optional<c10::IValue> known_dtype(const Node* node) {
  if (node->kind() != c10::prim::dtype) return c10::nullopt;
  auto type = node->input()->type()->cast<c10::TensorType>();
  if (!type || !type->scalarType()) return c10::nullopt;
  return c10::IValue(static_cast<int64_t>(*type->scalarType()));
}

// One round: type the inputs like the examples, propagate ranks, record what a run on the examples
// shows, fold what is now answered. Returns how many nodes were folded.
int fold_queries(std::shared_ptr<Graph>& graph, const torch::jit::Module& module, const std::vector<at::Tensor>& examples) {
  for (size_t i = 0; i < examples.size(); ++i) {
    graph->inputs()[i + 1]->setType(
        c10::TensorType::createContiguous(examples[i].scalar_type(), c10::kCPU, examples[i].sizes().vec()));
  }
  try {
    torch::jit::PropagateShapesOnGraph(graph);
  } catch (const std::exception&) {
    // Marked experimental in LibTorch 1.13: without it, ranks come from complete_ranks alone.
  }
  complete_ranks(graph->block());
  record_types(graph, module, examples);
  int folded = 0;
  for (auto* node : all_nodes(graph->block())) {
    if (node->outputs().size() != 1) continue;
    auto answer = environment_answer(node);
    if (!answer) answer = known_rank(node);
    if (!answer) answer = known_dtype(node);
    if (!answer) continue;
    torch::jit::WithInsertPoint point(node);
    node->output()->replaceAllUsesWith(graph->insertConstant(*answer));
    node->destroy();
    ++folded;
  }
  return folded;
}

bool is_number(const Value* value) {
  const auto kind = value->type()->kind();
  return kind == c10::TypeKind::IntType || kind == c10::TypeKind::FloatType || kind == c10::TypeKind::BoolType;
}

// x.size(i) with i beyond x's known rank: PyTorch raises there.
bool raises_index_error(const Node* node) {
  if (node->kind() != c10::aten::size || node->inputs().size() != 2) return false;
  auto rank = rank_of(node->input(0));
  auto index = torch::jit::toIValue(node->input(1));
  if (!rank || !index || !index->isInt()) return false;
  const auto i = index->toInt(), r = static_cast<int64_t>(*rank);
  return i >= r || i < -r;
}

void move_before(Block* branch, Node* node) {
  for (auto it = branch->nodes().begin(); it != branch->nodes().end();) {
    auto* inner = *it;
    ++it;
    inner->moveBefore(node);
  }
}

// A prim::If that picks between numbers computed without side effects (an imported Reshape's "0
// copies the input's dim": `x.size(i) if d == 0 else d`). A branch that would raise (x.size(i)
// past x's rank: the reshape adds dims) is never taken: the other one replaces the If. Otherwise
// both branches' nodes move before it, leaving blocks that only name their results, which export
// as a Where.
void hoist_number_selects(Block* block) {
  for (auto it = block->nodes().begin(); it != block->nodes().end();) {
    auto* node = *it;
    ++it;
    if (node->kind() != c10::prim::If || node->outputs().empty()) continue;
    if (!std::all_of(node->outputs().begin(), node->outputs().end(), is_number)) continue;
    bool pure = true;
    int raising = -1;
    for (size_t b = 0; b < node->blocks().size(); ++b) {
      for (auto* inner : node->blocks()[b]->nodes()) {
        pure = pure && inner->blocks().empty() && !inner->hasSideEffects() && inner->kind() != c10::prim::RaiseException;
        if (raises_index_error(inner)) raising = static_cast<int>(b);
      }
    }
    if (!pure) continue;
    if (raising >= 0) {
      auto* taken = node->blocks()[1 - raising];
      move_before(taken, node);
      for (size_t i = 0; i < node->outputs().size(); ++i) node->output(i)->replaceAllUsesWith(taken->outputs()[i]);
      node->destroy();
      continue;
    }
    for (auto* branch : node->blocks()) move_before(branch, node);
  }
}

// Trailing inputs that default to None and are left out by a call with `given` inputs.
void drop_none_default_inputs(Graph& graph, const c10::FunctionSchema& schema, size_t given) {
  for (size_t i = graph.inputs().size(); i-- > given + 1;) {
    const auto& argument = schema.arguments()[i];
    if (!argument.default_value() || !argument.default_value()->isNone()) break;
    torch::jit::WithInsertPoint point(graph.block()->param_node()->next());
    graph.inputs()[i]->replaceAllUsesWith(graph.insertConstant(c10::IValue()));
    graph.eraseInput(i);
  }
}

}  // namespace

ExportableGraph exportable_graph(const Model& model, const std::vector<at::Tensor>& examples) {
  auto module = clone_module(model.torchscript());
  module.eval();
  if (model.extra_files().count(kOnnxNamesFile)) keep_helper_calls(module);  // imported from ONNX
  auto frozen = module.hasattr("training") ? torch::jit::freeze(module) : module;
  const auto& method = frozen.get_method("forward");
  auto graph = method.graph()->copy();
  torch::jit::Inline(*graph);
  restore_quantize_per_tensor(*graph);  // INT8 files mopt made on LibTorch 1.13 quantize with fp32 ops
  drop_none_default_inputs(*graph, method.function().getSchema(), examples.size());
  fold_object_attributes(*graph, frozen);
  auto output_names = resolve_constant_key_dicts(*graph);
  if (examples.empty() && graph->inputs().size() > 1) {
    throw usage_error("an ONNX export declares its inputs' shapes: give --input-shape (or --data)");
  }
  if (graph->inputs().size() != examples.size() + 1) {
    throw usage_error(fmt::format("the model's forward() takes {} inputs; {} given for the export",
                                  graph->inputs().size() - 1, examples.size()));
  }
  for (int round = 0; round < kMaxRounds; ++round) {
    const int folded = fold_queries(graph, frozen, examples);
    // The fast-path checks collect their conditions in lists (any(...), all(...)), and an imported
    // model builds shapes in loops over lists: make them constant-length lists, unroll the loops,
    // so that constant propagation can evaluate what is known.
    bool changed = materialize_appended_lists(*graph) > 0;  // DenseNet: reads between appends
    changed |= torch::jit::RemoveListMutation(graph);
    changed |= torch::jit::PeepholeOptimizeListIdioms(graph, /*refine_list_len=*/true);
    changed |= torch::jit::PeepholeOptimize(graph, /*disable_shape_peepholes=*/true);
    torch::jit::ConstantPropagation(graph);
    // A branch resolved above can leave a tuple built only to be unpacked (nn.MultiheadAttention's
    // (output, None) when called directly, as ViT does).
    torch::jit::LowerSimpleTuples(graph);
    changed |= torch::jit::UnrollConstantLoops(graph);
    const int removed = remove_assertions(graph->block());
    torch::jit::EliminateDeadCode(graph);
    if (folded + removed == 0 && !changed) break;
  }
  hoist_number_selects(graph->block());
  ExportableGraph result;
  result.graph = graph;
  result.output_names = std::move(output_names);
  record_types(graph, frozen, examples, &result);  // also values the last round's passes made
  return result;
}

}  // namespace mopt::onnx_export
