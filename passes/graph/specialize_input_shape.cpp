// specialize-input-shape: fixes forward()'s input shapes and folds the shape arithmetic away.
// (An ONNX graph's rewrite is passes/onnx/specialize_input_shapes.cpp; the pass, its options and
// the output check for both formats are here.)
//   Before: %s = aten::size(%x, 0) ; %c = aten::eq(%s, 1) ; prim::If(%c) {...} {...}
//           %n = aten::size(%h) ; %v = aten::view(%h, [%n.0, -1])
//   After:  the taken branch inlined, %v = aten::view(%h, [1, -1]); a guard at the top of
//           forward() raises "specialize-input-shape: ..." when called with another shape/dtype.
// Preconditions: a TorchScript module whose forward() takes tensors; it is frozen first when it is
// not frozen yet (numerics-preserving freeze: weight shapes must be graph constants for shapes to
// propagate). The result only accepts the given shapes and dtypes: that is the point.
// How: forward()'s tensor inputs get complete types (sizes, dtype, CPU) and LibTorch's symbolic
// shape propagation (PropagateShapesOnGraph) types what follows; size/dim/len/numel/dtype queries
// whose answers are now known become constants; constant propagation, the peephole list idioms
// and dead-code elimination fold what depended on them (branches included), and the loop repeats
// while it finds more (a folded branch can expose more shapes). Trailing inputs that default to
// None (e.g. nn.TransformerEncoder's masks) and are not in the spec are specialized to None; the
// guard rejects calls that pass them. Graphs with ops that resize tensors in place (resize_,
// unsqueeze_, out= variants, ...) are left alone: a propagated shape could be stale there.
// Check: the model runs once before and after on a seeded input of that shape; different outputs
// abort the pass (a bug here must not ship silently). verify=false skips it.
// Stats: rewrites = shape queries folded to constants (queries removed with dead branches are not
// counted); details record the shapes, the inputs set to None and the node/branch counts.
#include <fmt/format.h>
#include <torch/csrc/jit/passes/constant_pooling.h>
#include <torch/csrc/jit/passes/constant_propagation.h>
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/peephole.h>
#include <torch/csrc/jit/passes/shape_analysis.h>
#include <torch/csrc/jit/passes/symbolic_shape_analysis.h>

#include <algorithm>
#include <set>

#include "lib/data/dataset.h"
#include "lib/data/dtype_names.h"
#include "lib/errors.h"
#include "lib/model/graph_walk.h"
#include "lib/onnx/import/onnx_importer.h"
#include "passes/graph/graph_passes.h"
#include "passes/onnx/onnx_passes.h"

namespace mopt {
namespace {

using torch::jit::Block;
using torch::jit::Graph;
using torch::jit::IValue;
using torch::jit::Node;
using torch::jit::Value;

constexpr const char* kGuardPrefix = "specialize-input-shape: ";
constexpr int kMaxRounds = 16;  // each round needs a newly folded query; real models settle in 2-3

std::string shape_text(const std::vector<int64_t>& shape) { return fmt::format("{}", fmt::join(shape, "x")); }

int64_t count_nodes(const Block* block, c10::optional<c10::Symbol> kind = c10::nullopt) {
  int64_t n = 0;
  for (const auto* node : block->nodes()) {
    if (node->kind() != c10::prim::Constant && (!kind || node->kind() == *kind)) ++n;
    for (const auto* sub : node->blocks()) n += count_nodes(sub, kind);
  }
  return n;
}

// In-place ops that can change a tensor's shape: after one of them the type shape propagation
// gave the tensor no longer holds, so folding its size would be wrong.
bool may_resize_in_place(const Node* node) {
  static const std::set<std::string> kResizing = {
      "aten::resize_",   "aten::resize_as_",  "aten::squeeze_",  "aten::unsqueeze_", "aten::t_",
      "aten::transpose_", "aten::swapdims_", "aten::swapaxes_", "aten::as_strided_", "aten::set_"};
  if (kResizing.count(node->kind().toQualString())) return true;
  // out= arguments (and any other written tensor that is not `self`) may be resized to fit.
  const auto* schema = node->maybeSchema();
  if (!schema) return false;
  for (const auto& argument : schema->arguments()) {
    if (argument.name() != "self" && argument.alias_info() && argument.alias_info()->isWrite() &&
        argument.type()->kind() == c10::TypeKind::TensorType) {
      return true;
    }
  }
  return false;
}

bool has_in_place_resize(Block* block) {
  for (const auto* node : all_nodes(block)) {
    if (may_resize_in_place(node)) return true;
  }
  return false;
}

// The guard an earlier run inserted: prim::If(cond) whose else-branch raises our message. Its
// condition's inputs (aten::size(x), prim::dtype(x), ...) must not be folded, or a second run
// would fold the guard away and report rewrites.
std::set<const Node*> guard_nodes(Block* block) {
  std::set<const Node*> nodes;
  for (auto* node : block->nodes()) {
    if (node->kind() != c10::prim::If || node->blocks().size() != 2) continue;
    bool ours = false;
    for (auto* inner : node->blocks()[1]->nodes()) {
      if (inner->kind() != c10::prim::RaiseException) continue;
      auto message = torch::jit::toIValue(inner->input(0));
      ours = message && message->isString() && message->toStringRef().rfind(kGuardPrefix, 0) == 0;
    }
    if (!ours) continue;
    std::vector<const Node*> work = {node->input(0)->node()};
    while (!work.empty()) {
      const Node* n = work.back();
      work.pop_back();
      if (n->owningBlock() != block || !nodes.insert(n).second) continue;
      for (const auto* input : n->inputs()) work.push_back(input->node());
    }
  }
  return nodes;
}

// The constant a shape query evaluates to, when its input's type now says.
c10::optional<IValue> known_answer(const Node* node) {
  if (node->inputs().empty()) return c10::nullopt;
  auto type = node->input(0)->type()->cast<c10::TensorType>();
  if (!type) return c10::nullopt;
  const auto kind = node->kind();
  const auto rank = type->dim();
  auto static_dim = [&](int64_t dim) -> c10::optional<int64_t> {
    auto sizes = type->symbolic_sizes().sizes();
    if (!sizes || !rank) return c10::nullopt;
    if (dim < 0) dim += static_cast<int64_t>(*rank);
    if (dim < 0 || dim >= static_cast<int64_t>(*rank) || !(*sizes)[dim].is_static()) return c10::nullopt;
    return (*sizes)[dim].static_size();
  };
  if (kind == c10::aten::size && node->inputs().size() == 1) {
    if (auto sizes = type->sizes().concrete_sizes()) return IValue(*sizes);
  } else if (kind == c10::aten::size && node->inputs().size() == 2 && node->input(1)->type()->kind() == c10::TypeKind::IntType) {
    auto dim = torch::jit::toIValue(node->input(1));
    if (dim && dim->isInt()) {
      if (auto size = static_dim(dim->toInt())) return IValue(*size);
    }
  } else if (kind == c10::aten::dim && node->inputs().size() == 1) {
    if (rank) return IValue(static_cast<int64_t>(*rank));
  } else if (kind == c10::aten::len && node->inputs().size() == 1) {
    if (rank && *rank > 0) {
      if (auto size = static_dim(0)) return IValue(*size);
    }
  } else if (kind == c10::Symbol::fromQualString("aten::numel") && node->inputs().size() == 1) {
    if (auto sizes = type->sizes().concrete_sizes()) {
      int64_t n = 1;
      for (auto s : *sizes) n *= s;
      return IValue(n);
    }
  } else if (kind == c10::prim::dtype && node->inputs().size() == 1) {
    if (auto dtype = type->scalarType()) return IValue(static_cast<int64_t>(*dtype));
  } else if (kind == c10::Symbol::fromQualString("aten::is_floating_point") && node->inputs().size() == 1) {
    if (auto dtype = type->scalarType()) return IValue(c10::isFloatingType(*dtype));
  }
  return c10::nullopt;
}

// One round: type the inputs, propagate, replace answered queries with constants. Returns how
// many were folded, by kind.
std::map<std::string, int64_t> fold_known_queries(std::shared_ptr<Graph>& graph,
                                                  const std::vector<std::pair<Value*, InputSpec>>& inputs) {
  for (const auto& [value, spec] : inputs) {
    value->setType(c10::TensorType::createContiguous(spec.dtype, c10::kCPU, spec.shape));
  }
  torch::jit::PropagateShapesOnGraph(graph);
  auto protected_nodes = guard_nodes(graph->block());
  std::map<std::string, int64_t> folded;
  for (auto* node : all_nodes(graph->block())) {
    if (protected_nodes.count(node) || node->outputs().size() != 1) continue;
    auto answer = known_answer(node);
    if (!answer) continue;
    torch::jit::WithInsertPoint point(node);
    auto* constant = graph->insertConstant(*answer);
    node->output()->replaceAllUsesWith(constant);
    ++folded[node->kind().toQualString()];
    node->destroy();
  }
  return folded;
}

// Raises "specialize-input-shape: ..." unless every input has its shape and dtype and every
// None-specialized input is None: the folded graph is only right for those.
void insert_guard(Graph& graph, const std::vector<std::pair<Value*, InputSpec>>& inputs,
                  const std::vector<Value*>& none_inputs, const std::vector<std::string>& none_names,
                  const std::string& expected) {
  torch::jit::WithInsertPoint point(graph.block()->param_node()->next());
  Value* ok = nullptr;
  auto conjoin = [&](Value* condition) { ok = ok ? graph.insert(c10::aten::__and__, {ok, condition}) : condition; };
  for (const auto& [value, spec] : inputs) {
    conjoin(graph.insert(c10::aten::eq, {graph.insert(c10::aten::size, {value}), graph.insertConstant(spec.shape)}));
    conjoin(graph.insert(c10::aten::eq,
                         {graph.insert(c10::prim::dtype, {value}), graph.insertConstant(static_cast<int64_t>(spec.dtype))}));
  }
  for (auto* value : none_inputs) conjoin(graph.insert(c10::aten::__is__, {value, graph.insertConstant(IValue())}));
  auto* guard = graph.insertNode(graph.create(c10::prim::If, {ok}, 0));
  guard->addBlock();
  auto* fail = guard->addBlock();
  torch::jit::WithInsertPoint in_fail(fail);
  const auto left_out = none_names.empty() ? "" : fmt::format(" (leave out {})", fmt::join(none_names, ", "));
  auto* message = graph.insertConstant(
      fmt::format("{}this model was specialized for inputs {}{}; run it with exactly those (or compile it without "
                  "specialize-input-shape)",
                  kGuardPrefix, expected, left_out));
  graph.insertNode(graph.create(c10::prim::RaiseException, {message, graph.insertConstant(IValue())}, 0));
}

IValue run_forward(torch::jit::Module& module, const std::vector<torch::Tensor>& inputs, const std::string& expected) {
  c10::InferenceMode guard;
  std::vector<IValue> stack;
  for (const auto& input : inputs) stack.emplace_back(input.clone());  // forward may write its inputs
  try {
    return module.forward(stack);
  } catch (const std::exception& e) {
    throw invalid_input(fmt::format("specialize-input-shape: the model cannot run on inputs {}: {}", expected,
                                    short_torch_message(e.what())));
  }
}

// Same structure and (bit-for-bit or float-rounding) same tensors.
bool same_outputs(const IValue& a, const IValue& b) {
  if (a.isTensor() && b.isTensor()) {
    const auto& x = a.toTensor();
    const auto& y = b.toTensor();
    if (x.sizes() != y.sizes() || x.scalar_type() != y.scalar_type()) return false;
    if (!c10::isFloatingType(x.scalar_type())) return x.equal(y);
    return torch::allclose(x, y, 1e-5, 1e-6, /*equal_nan=*/true);
  }
  if (a.isTuple() && b.isTuple()) {
    const auto& xs = a.toTupleRef().elements();
    const auto& ys = b.toTupleRef().elements();
    if (xs.size() != ys.size()) return false;
    for (size_t i = 0; i < xs.size(); ++i) {
      if (!same_outputs(xs[i], ys[i])) return false;
    }
    return true;
  }
  if (a.isList() && b.isList()) {
    auto xs = a.toListRef();
    auto ys = b.toListRef();
    if (xs.size() != ys.size()) return false;
    for (size_t i = 0; i < xs.size(); ++i) {
      if (!same_outputs(xs[i], ys[i])) return false;
    }
    return true;
  }
  if (a.isGenericDict() || b.isGenericDict()) return a.isGenericDict() && b.isGenericDict();  // keys/values: not compared
  return a == b;
}

std::string specs_text(const std::vector<InputSpec>& specs) {
  std::vector<std::string> texts;
  for (const auto& spec : specs) texts.push_back(shape_text(spec.shape) + ":" + data_detail::dtype_name(spec.dtype));
  return fmt::format("{}", fmt::join(texts, ";"));
}

std::vector<torch::Tensor> seeded_inputs(const std::vector<InputSpec>& specs) {
  std::vector<torch::Tensor> inputs;
  for (size_t i = 0; i < specs.size(); ++i) inputs.push_back(synthetic_input(specs[i], 1234 + i));
  return inputs;
}

void check_same_outputs(const IValue& reference, const IValue& candidate, const std::string& expected) {
  if (same_outputs(reference, candidate)) return;
  throw runtime_failure(fmt::format(
      "specialize-input-shape changed the model's outputs on inputs {}; leave it out of the pipeline (and please "
      "report this model)",
      expected));
}

// An ONNX graph: the rewrite is passes/onnx/specialize_input_shapes.cpp. The check runs the graph
// before and after through the ONNX importer, the runtime every command has. No guard is added:
// the fixed input dims are declared, and ONNX Runtime refuses any other shape.
PassStats specialize_onnx(Model& model, const std::vector<InputSpec>& requested, bool verify) {
  const auto specs = onnx_input_specs(model.onnx(), requested);
  const auto expected = specs_text(specs);
  const auto sample = seeded_inputs(specs);
  IValue reference;
  if (verify) reference = run_forward(to_torchscript(model).torchscript(), sample, expected);
  auto stats = specialize_onnx_input_shapes(model, specs);
  if (verify) check_same_outputs(reference, run_forward(to_torchscript(model).torchscript(), sample, expected), expected);
  stats.details["shape"] = expected;
  stats.details["verified"] = verify;
  return stats;
}

class SpecializeInputShapePass : public Pass {
 public:
  const PassInfo& info() const override {
    static const PassInfo info{
        "specialize-input-shape",
        "fix the input shapes and fold the shape queries and what depends on them (TorchScript: forward()'s, with the "
        "branches on them; ONNX: the graph inputs' dims, Shape/Size and their arithmetic); the result only accepts "
        "those shapes (a guard raises otherwise; ONNX Runtime enforces an ONNX graph's declared dims)",
        {ModelFormat::kTorchScript, ModelFormat::kOnnx},
        {{"shape", OptionType::kString, "",
          "required: input spec(s) as for --input-shape, e.g. 1x3x224x224 or x:1x16x64:float32; several inputs: ';' between "
          "them, in forward()'s (the ONNX graph's) order"},
         {"verify", OptionType::kBool, "true",
          "run the model before and after on a seeded input of that shape and fail if the outputs differ"}}};
    return info;
  }

  PassStats run(Model& model, const PassOptions& options, const PassContext&) const override {
    const auto shape_option = options.get_string("shape");
    if (shape_option.empty()) {
      throw usage_error("specialize-input-shape needs the shape: specialize-input-shape{shape=1x3x224x224}");
    }
    const auto specs = parse_input_specs(shape_option);
    const bool verify = options.get_bool("verify");
    if (model.is_onnx()) return specialize_onnx(model, specs, verify);
    const auto expected = specs_text(specs);

    auto& module = model.torchscript();
    // Numerics-preserving: the check below compares with the unfrozen model bit for bit.
    const bool froze = freeze_unless_frozen(module, /*optimize_numerics=*/false);
    model.invalidate_graph_caches();
    auto method = module.find_method("forward");
    if (!method) throw usage_error("specialize-input-shape: the model has no forward() method");
    auto graph = method->graph();
    const auto& schema = method->function().getSchema();

    // forward(self, x, ...): match specs to inputs by position.
    const size_t given = graph->inputs().size() - 1;
    if (specs.size() > given) {
      throw usage_error(fmt::format("specialize-input-shape: {} input spec(s) given but forward() takes {} input(s)",
                                    specs.size(), given));
    }
    std::vector<std::pair<Value*, InputSpec>> inputs;
    for (size_t i = 0; i < specs.size(); ++i) {
      auto* value = graph->inputs()[i + 1];
      if (!value->type()->cast<c10::TensorType>()) {
        throw usage_error(fmt::format("specialize-input-shape: forward() input {} ('{}') is {}, not a Tensor", i + 1,
                                      schema.arguments()[i + 1].name(), value->type()->repr_str()));
      }
      inputs.emplace_back(value, specs[i]);
    }

    const auto sample = seeded_inputs(specs);
    IValue reference;
    if (verify) reference = run_forward(module, sample, expected);

    PassStats stats;
    stats.details = {{"shape", expected},
                     {"froze_first", froze},
                     {"nodes_before", count_nodes(graph->block())},
                     {"branches_before", count_nodes(graph->block(), c10::prim::If)}};
    if (has_in_place_resize(graph->block())) {
      stats.details["skipped"] = "the graph resizes tensors in place; propagated shapes could be stale";
      return stats;
    }

    // Trailing inputs that default to None and have no spec: the caller passes none of them. An
    // input only an earlier run's guard reads is already specialized.
    const auto earlier_guard = guard_nodes(graph->block());
    auto read_outside_guard = [&](const Value* value) {
      return std::any_of(value->uses().begin(), value->uses().end(),
                         [&](const torch::jit::Use& use) { return earlier_guard.count(use.user) == 0; });
    };
    std::vector<Value*> none_inputs;
    std::vector<std::string> none_names;
    for (size_t i = specs.size() + 1; i < graph->inputs().size(); ++i) {
      const auto& argument = schema.arguments()[i];
      auto* value = graph->inputs()[i];
      if (!argument.default_value() || !argument.default_value()->isNone() || !read_outside_guard(value)) continue;
      torch::jit::WithInsertPoint point(graph->block()->param_node()->next());
      value->replaceAllUsesWith(graph->insertConstant(IValue()));
      none_inputs.push_back(value);
      none_names.push_back(argument.name());
    }

    // Drop the None branches first: shape propagation does not look inside prim::If blocks.
    auto simplify = [&] {
      torch::jit::ConstantPropagation(graph);
      torch::jit::PeepholeOptimize(graph, /*disable_shape_peepholes=*/true);
      torch::jit::EliminateDeadCode(graph);
    };
    if (!none_inputs.empty()) simplify();

    std::map<std::string, int64_t> folded;
    int rounds = 0;
    bool propagation_failed = false;
    while (rounds < kMaxRounds) {
      ++rounds;
      std::map<std::string, int64_t> round;
      try {
        round = fold_known_queries(graph, inputs);
      } catch (const std::exception& e) {
        // The shape analysis is marked experimental in LibTorch 1.13; keep what earlier rounds folded.
        stats.details["shape_analysis_error"] = short_torch_message(e.what());
        propagation_failed = true;
      }
      int64_t n = 0;
      for (const auto& [kind, count] : round) {
        folded[kind] += count;
        n += count;
      }
      simplify();
      if (n == 0 || propagation_failed) break;
    }
    torch::jit::ConstantPooling(graph);
    torch::jit::EliminateDeadCode(graph);
    // Shapes were only a means; left on the graph they would make in-process passes see types a
    // reloaded model does not have.
    torch::jit::EraseShapeInformation(graph);

    for (const auto& [kind, count] : folded) stats.rewrites += count;
    const bool specialized = stats.rewrites > 0 || !none_inputs.empty();
    if (specialized) insert_guard(*graph, inputs, none_inputs, none_names, expected);
    model.invalidate_graph_caches();

    if (verify) check_same_outputs(reference, run_forward(module, sample, expected), expected);
    stats.details["folded"] = folded;
    stats.details["none_inputs"] = none_names;
    stats.details["rounds"] = rounds;
    stats.details["guard"] = specialized;
    stats.details["verified"] = verify;
    stats.details["nodes_after"] = count_nodes(graph->block());
    stats.details["branches_after"] = count_nodes(graph->block(), c10::prim::If);
    return stats;
  }
};

}  // namespace

std::unique_ptr<Pass> make_specialize_input_shape_pass() { return std::make_unique<SpecializeInputShapePass>(); }

}  // namespace mopt
