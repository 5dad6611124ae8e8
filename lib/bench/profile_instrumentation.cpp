#include "lib/bench/profile_instrumentation.h"

#include <algorithm>

#include "lib/model/graph_walk.h"

namespace mopt {

bool has_mkldnn_prims(const torch::jit::Module& module) {
  if (!module.find_method("forward")) return false;
  const auto nodes = all_nodes(module.get_method("forward").graph()->block());
  return std::any_of(nodes.begin(), nodes.end(), [](const torch::jit::Node* node) { return is_mkldnn_prim(node); });
}

size_t record_mkldnn_prims(torch::jit::Module& module) {
  if (!module.find_method("forward")) return 0;
  auto graph = module.get_method("forward").graph();
  static const auto enter = c10::Symbol::fromQualString("profiler::_record_function_enter_new");
  static const auto exit = c10::Symbol::fromQualString("profiler::_record_function_exit");
  size_t wrapped = 0;
  for (auto* node : all_nodes(graph->block())) {
    if (!is_mkldnn_prim(node)) continue;
    torch::jit::Value* scope = nullptr;
    {
      torch::jit::WithInsertPoint before(node);
      auto* name = graph->insertConstant(std::string(node->kind().toQualString()));
      scope = graph->insert(enter, {name, graph->insertConstant(c10::IValue())});
      scope->node()->copyMetadata(node);  // its layer, for the profiler's module hierarchy
    }
    graph->create(exit, {scope}, /*num_outputs=*/0)->copyMetadata(node)->insertAfter(node);
    ++wrapped;
  }
  return wrapped;
}

bool is_recorded_prim(const std::string& record_name) { return record_name.rfind("prim::", 0) == 0; }

}  // namespace mopt
