// decompose_silu: SiLU as x * sigmoid(x), so that graph-mode INT8 keeps it quantized.
//   Before: %y = aten::silu_(%x)          (or a prim::CallFunction of torch.nn.functional.silu)
//   After:  %s = aten::sigmoid(%x);  %y = aten::mul(%x, %s)
// Preconditions: see silu_decomposition.h (in-place only where the mutation cannot be observed).
#include "passes/quantize/silu_decomposition.h"

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "lib/model/graph_walk.h"
#include "passes/quantize/inline_calls.h"

namespace mopt::quant {
namespace {

using torch::jit::Graph;
using torch::jit::Node;
using torch::jit::Value;

const c10::Symbol kSilu = c10::Symbol::fromQualString("aten::silu");
const c10::Symbol kSiluInPlace = c10::Symbol::fromQualString("aten::silu_");

struct MethodGraph {
  std::shared_ptr<Graph> graph;
  const c10::ClassType* owner;
  std::string name;
  int64_t instances = 1;  ///< modules sharing this graph (one per nn.SiLU in a model)
};

using CallSites = std::map<std::pair<const c10::ClassType*, std::string>, std::vector<Node*>>;

// Whether `value`, read only by the op at hand, shares no memory with anything else: not a module
// attribute (a parameter would change for good), not a view or an in-place result of another
// tensor (whose other names may be read later). Values from method and function calls count as
// their own, as torch.nn.Sequential passes them on.
bool sole_owner(const Value* value) {
  if (value->uses().size() != 1) return false;
  const Node* producer = value->node();
  if (producer->kind() == c10::prim::GetAttr) return false;
  const auto* schema = producer->maybeSchema();
  return !schema || schema->returns().empty() || !schema->returns()[0].alias_info();
}

// Whether replacing this in-place silu_ by a new value changes nothing anyone reads.
bool mutation_unobserved(const Node* silu, const MethodGraph& method, const CallSites& calls) {
  const Value* input = silu->input(0);
  if (input->node()->kind() != c10::prim::Param) return sole_owner(input);
  if (input->uses().size() != 1) return false;
  // A method argument: the caller's value is what the op mutated. (A top-level forward has no
  // caller here; not mutating the user's input is what they expect anyway.)
  auto found = calls.find({method.owner, method.name});
  if (found == calls.end()) return true;
  for (const auto* call : found->second) {
    if (input->offset() >= call->inputs().size()) return false;
    const Value* argument = call->input(input->offset());
    if (argument->node()->kind() == c10::prim::Param || !sole_owner(argument)) return false;
  }
  return true;
}

}  // namespace

int64_t decompose_silu(torch::jit::Module& module) {
  std::vector<MethodGraph> methods;
  std::map<const Graph*, size_t> index;  // instances of one module type share their graphs
  for (const auto& submodule : module.modules()) {
    for (const auto& method : submodule.get_methods()) {
      auto graph = method.graph();
      auto [at, added] = index.emplace(graph.get(), methods.size());
      if (added) methods.push_back({graph, submodule.type().get(), method.name()});
      else ++methods[at->second].instances;
    }
  }
  for (const auto& m : methods) inline_calls_computing(m.graph, {kSilu, kSiluInPlace});  // F.silu

  CallSites calls;
  for (const auto& m : methods) {
    for (auto* node : all_nodes(m.graph->block())) {
      if (node->kind() != c10::prim::CallMethod) continue;
      if (auto type = node->input(0)->type()->cast<c10::ClassType>()) calls[{type.get(), node->s(c10::attr::name)}].push_back(node);
    }
  }

  int64_t rewritten = 0;
  for (const auto& m : methods) {
    std::vector<Node*> targets;
    for (auto* node : all_nodes(m.graph->block())) {
      if (node->kind() == kSilu || (node->kind() == kSiluInPlace && mutation_unobserved(node, m, calls))) targets.push_back(node);
    }
    for (auto* node : targets) {
      torch::jit::WithInsertPoint guard(node);
      Value* x = node->input(0);
      Value* gate = m.graph->insert(c10::aten::sigmoid, {x});
      Value* product = m.graph->insert(c10::aten::mul, {x, gate});
      node->output()->replaceAllUsesWith(product);
      node->destroy();
      rewritten += m.instances;
    }
  }
  return rewritten;
}

}  // namespace mopt::quant
