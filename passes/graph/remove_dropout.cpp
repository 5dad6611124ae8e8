// remove-dropout: deletes dropout ops.
//   Before: y = aten::dropout(x, p, train=False)    After: y = x
// Preconditions: eval mode (dropout is the identity only at inference); the module is set to
// eval first. Covers dropout, feature_dropout and alpha_dropout (and in-place forms).
// Why not LibTorch's removeDropout(): it only drops nodes whose `train` flag is a constant, but in
// an unfrozen scripted nn.Dropout the flag is `self.training`, an attribute read. After eval()
// every `training` attribute is false, so such reads count as false too.
// Stats: rewrites = dropout ops removed.
#include <torch/csrc/jit/passes/dead_code_elimination.h>
#include <torch/csrc/jit/passes/inliner.h>

#include <set>

#include "lib/model/graph_stats.h"
#include "passes/graph/graph_passes.h"

namespace mopt {
namespace {

int64_t dropout_ops(const Model& model) {
  int64_t count = 0;
  for (const auto& [kind, n] : op_histogram(model)) {
    if (kind.find("dropout") != std::string::npos) count += n;
  }
  return count;
}

bool is_dropout(const torch::jit::Node* node) {
  static const std::set<std::string> kinds = {"aten::dropout",         "aten::dropout_",
                                              "aten::feature_dropout", "aten::feature_dropout_",
                                              "aten::alpha_dropout",   "aten::alpha_dropout_",
                                              "aten::feature_alpha_dropout", "aten::feature_alpha_dropout_"};
  return kinds.count(node->kind().toQualString()) > 0;
}

// True when the dropout's `train` argument is false at inference: a constant false, or a read of
// the (eval-mode) module's `training` attribute.
bool inactive_at_inference(const torch::jit::Node* node) {
  const auto* train = node->inputs().at(2);
  if (auto value = torch::jit::toIValue(train)) return value->isBool() && !value->toBool();
  return train->node()->kind() == c10::prim::GetAttr && train->node()->s(c10::attr::name) == "training";
}

// F.dropout's body branches on `inplace`, so dropout ops can sit inside prim::If blocks.
void collect_dropouts(torch::jit::Block* block, std::vector<torch::jit::Node*>& found) {
  for (auto* node : block->nodes()) {
    if (is_dropout(node) && inactive_at_inference(node)) found.push_back(node);
    for (auto* sub : node->blocks()) collect_dropouts(sub, found);
  }
}

class RemoveDropoutPass : public Pass {
 public:
  const PassInfo& info() const override {
    static const PassInfo info{"remove-dropout", "delete dropout ops, which are the identity at inference",
                               {ModelFormat::kTorchScript}, {}};
    return info;
  }

  PassStats run(Model& model, const PassOptions&, const PassContext&) const override {
    auto& module = model.torchscript();
    int64_t before = dropout_ops(model);
    module.eval();
    for (const auto& submodule : module.modules()) {
      for (const auto& method : submodule.get_methods()) {
        auto graph = method.graph();
        // Scripted nn.Dropout calls F.dropout, a function; inline it to reach the aten op. Only
        // leaf modules are inlined, so method calls (and fold-conv-bn's patterns) stay intact.
        if (submodule.children().size() == 0) torch::jit::Inline(*graph);
        remove_inactive_dropouts(*graph);
        torch::jit::EliminateDeadCode(graph);
      }
    }
    model.invalidate_graph_caches();  // so the recount sees the edited graphs
    PassStats stats;
    stats.rewrites = before - dropout_ops(model);
    return stats;
  }
};

}  // namespace

int64_t remove_inactive_dropouts(torch::jit::Graph& graph) {
  std::vector<torch::jit::Node*> doomed;
  collect_dropouts(graph.block(), doomed);
  for (auto* node : doomed) {
    node->output()->replaceAllUsesWith(node->inputs().at(0));
    node->destroy();
  }
  return static_cast<int64_t>(doomed.size());
}

std::unique_ptr<Pass> make_remove_dropout_pass() { return std::make_unique<RemoveDropoutPass>(); }

}  // namespace mopt
