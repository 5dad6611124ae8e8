// `fold-constants`: evaluates subgraphs whose inputs are all constants and stores the result as
// one initializer.
//
// Before:                                   After:
//   W(init) -> Transpose -> Mul -> Add <- X    W'(init) -> Add <- X
//   C = Constant ----------^                   where W' = Transpose(W) * C, named like Mul's output
//
// Preconditions (otherwise the node is left alone, silently):
//   - every input is an initializer that is NOT also a graph input (that would be a default the
//     caller may override), the output of a Constant node, or the output of a node folded earlier;
//   - the ONNX importer converts the op (evaluation runs through it: one implementation of each
//     op's semantics for folding and execution); the evaluation succeeds; not a random op;
//   - every output has at most `max-size` elements (0 = no limit), so folding never bloats a model
//     with a huge materialized tensor.
// If/Loop/Scan bodies are folded the same way, reading the enclosing graphs' constants; a value
// folded there becomes a Constant node at the top of that body.
// Materialization: a folded value becomes an initializer (same name, so readers need no rewiring)
// when a graph output, a node that was not folded, or a subgraph reads it. Folded nodes are
// removed. A Constant node is kept unless every reader of it was folded, so a graph where nothing
// folds is returned unchanged; so is an Identity whose input stays stored anyway (a copy would
// only add bytes). Initializers that become unused are removed.
// Math: the op's own definition, evaluated once at optimization time instead of every inference.
#include "lib/onnx/constant_folding.h"
#include "passes/onnx/onnx_passes.h"

namespace mopt {
namespace {

class FoldConstantsPass final : public Pass {
 public:
  const PassInfo& info() const override {
    static const PassInfo info{
        "fold-constants",
        "Evaluates subgraphs whose inputs are all initializers/Constants into one initializer (If/Loop bodies too)",
        {ModelFormat::kOnnx},
        {{"max-size", OptionType::kInt, "16777216",
          "largest tensor (in elements) the pass will materialize; 0 = no limit"}}};
    return info;
  }

  PassStats run(Model& model, const PassOptions& options, const PassContext&) const override {
    auto& proto = model.onnx();
    const int nodes_before = proto.graph().node_size();
    const int initializers_before = proto.graph().initializer_size();
    FoldOptions fold;
    fold.max_size = options.get_int("max-size");
    const auto folded = fold_constants(proto, fold);

    PassStats stats;
    stats.rewrites = folded.initializers_created + folded.unread_removed;
    stats.details = {{"nodes_before", nodes_before},
                     {"nodes_after", proto.graph().node_size()},
                     {"nodes_folded", folded.nodes_folded},
                     {"subgraph_nodes_folded", folded.subgraph_nodes_folded},
                     {"initializers_before", initializers_before},
                     {"initializers_created", folded.initializers_created},
                     {"initializers_removed", folded.initializers_removed},
                     {"skipped_unsupported", folded.skipped_unsupported},
                     {"skipped_too_large", folded.skipped_too_large}};
    return stats;
  }
};

}  // namespace

std::unique_ptr<Pass> make_onnx_fold_constants_pass() { return std::make_unique<FoldConstantsPass>(); }

}  // namespace mopt
