// optimize-for-inference: torch.jit.optimize_for_inference.
//   Before: a (frozen) graph of generic aten ops.
//   After:  conv/linear folded with following add/mul/BN, oneDNN (MKLDNN) layout conversions
//           around conv chains on x86, prepacked weights, frozen linear transposes.
// Preconditions: freezes the module first when it is not frozen yet (the LibTorch API requires a
// frozen module). It is a heuristic: it made a small transformer 3x slower on this machine kind,
// so callers must measure it (DESIGN.md).
// Stats: rewrites = ops that disappeared or changed kind.
#include "lib/model/graph_stats.h"
#include "passes/graph/graph_passes.h"

namespace mopt {
namespace {

class OptimizeForInferencePass : public Pass {
 public:
  const PassInfo& info() const override {
    static const PassInfo info{
        "optimize-for-inference",
        "torch.jit.optimize_for_inference: fusions and oneDNN layouts (freezes first); measure it",
        {ModelFormat::kTorchScript},
        {}};
    return info;
  }

  PassStats run(Model& model, const PassOptions&) const override {
    auto& module = model.torchscript();
    auto before = op_histogram(model);
    const bool was_frozen = !module.hasattr("training");
    module.eval();
    if (!was_frozen) module = torch::jit::freeze(module);
    module = torch::jit::optimize_for_inference(module);
    auto after = op_histogram(model);
    PassStats stats;
    stats.rewrites = ops_removed(before, after);
    stats.details = {{"froze_first", !was_frozen}, {"ops_before", total_ops(before)}, {"ops_after", total_ops(after)}};
    return stats;
  }
};

}  // namespace

std::unique_ptr<Pass> make_optimize_for_inference_pass() { return std::make_unique<OptimizeForInferencePass>(); }

}  // namespace mopt
