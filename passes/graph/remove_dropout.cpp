// remove-dropout: deletes dropout ops.
//   Before: y = aten::dropout(x, p, train=False)    After: y = x
// Preconditions: eval mode (dropout is the identity only at inference); the module is set to
// eval first. Also removes feature_dropout / alpha_dropout variants (LibTorch's removeDropout).
// Stats: rewrites = dropout ops removed.
#include <torch/csrc/jit/passes/remove_dropout.h>

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

class RemoveDropoutPass : public Pass {
 public:
  const PassInfo& info() const override {
    static const PassInfo info{"remove-dropout", "delete dropout ops, which are the identity at inference",
                               {ModelFormat::kTorchScript}, {}};
    return info;
  }

  PassStats run(Model& model, const PassOptions&) const override {
    auto& module = model.torchscript();
    int64_t before = dropout_ops(model);
    module.eval();
    torch::jit::removeDropout(module);
    PassStats stats;
    stats.rewrites = before - dropout_ops(model);
    return stats;
  }
};

}  // namespace

std::unique_ptr<Pass> make_remove_dropout_pass() { return std::make_unique<RemoveDropoutPass>(); }

}  // namespace mopt
