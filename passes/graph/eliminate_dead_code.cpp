// eliminate-dead-code: removes nodes whose results nothing uses.
//   Before: %unused = aten::relu(%x) ; return (%y)      After: return (%y)
// Preconditions: none; side-effecting nodes (prints, in-place ops on live values) are kept by
// LibTorch's alias-aware EliminateDeadCode.
// Stats: rewrites = nodes removed across all methods.
#include <torch/csrc/jit/passes/dead_code_elimination.h>

#include "passes/graph/graph_passes.h"

namespace mopt {
namespace {

int64_t count_nodes(const torch::jit::Block* block) {
  int64_t n = 0;
  for (const auto* node : block->nodes()) {
    ++n;
    for (const auto* sub : node->blocks()) n += count_nodes(sub);
  }
  return n;
}

class EliminateDeadCodePass : public Pass {
 public:
  const PassInfo& info() const override {
    static const PassInfo info{"eliminate-dead-code", "remove graph nodes whose results are never used",
                               {ModelFormat::kTorchScript}, {}};
    return info;
  }

  PassStats run(Model& model, const PassOptions&, const PassContext&) const override {
    PassStats stats;
    for (const auto& method : model.torchscript().get_methods()) {
      auto graph = method.graph();
      int64_t before = count_nodes(graph->block());
      torch::jit::EliminateDeadCode(graph);
      stats.rewrites += before - count_nodes(graph->block());
    }
    return stats;
  }
};

}  // namespace

std::unique_ptr<Pass> make_eliminate_dead_code_pass() { return std::make_unique<EliminateDeadCodePass>(); }

}  // namespace mopt
