// freeze: torch.jit.freeze.
//   Before: forward reads self.conv.weight via prim::GetAttr chains; submodules are method calls.
//   After:  one inlined forward graph; parameters and attributes are tensor constants.
// Preconditions: the module is put in eval mode first (freezing a training module is an error in
// LibTorch and would bake training-mode dropout/BN into the graph). A frozen module (no `training`
// attribute) is left as it is.
// Stats: rewrites = attribute reads (prim::GetAttr) folded into constants.
#include <torch/csrc/jit/passes/freeze_module.h>

#include "lib/model/graph_stats.h"
#include "passes/graph/graph_passes.h"

namespace mopt {
namespace {

class FreezePass : public Pass {
 public:
  const PassInfo& info() const override {
    static const PassInfo info{
        "freeze",
        "inline parameters and attributes as constants (torch.jit.freeze); enables constant folding",
        {ModelFormat::kTorchScript},
        {{"optimize-numerics", OptionType::kBool, "true",
          "let freezing fold ops in ways that change results within float rounding (conv-add/mul folding)"}}};
    return info;
  }

  PassStats run(Model& model, const PassOptions& options, const PassContext&) const override {
    auto& module = model.torchscript();
    auto before = op_histogram(model);
    // Freezing again would fold what later passes keep as attributes on purpose (oneDNN-packed
    // weights, restored at load by __setstate__) into constants no file can hold.
    const bool froze = freeze_unless_frozen(module, options.get_bool("optimize-numerics"));
    auto after = op_histogram(model);
    PassStats stats;
    auto get_attr = before.find("prim::GetAttr");
    stats.rewrites = !froze || get_attr == before.end() ? 0 : get_attr->second;
    stats.details = {{"ops_before", total_ops(before)}, {"ops_after", total_ops(after)}, {"already_frozen", !froze}};
    return stats;
  }
};

}  // namespace

bool freeze_unless_frozen(torch::jit::Module& module, bool optimize_numerics) {
  module.eval();
  if (!module.hasattr("training")) return false;
  module = torch::jit::freeze(module, c10::nullopt, optimize_numerics);
  return true;
}

std::unique_ptr<Pass> make_freeze_pass() { return std::make_unique<FreezePass>(); }

}  // namespace mopt
