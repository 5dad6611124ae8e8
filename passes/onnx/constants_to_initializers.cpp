// `constants-to-initializers`: turns Constant nodes holding tensors into initializers of the same name.
//
// Before:                                     After:
//   W = Constant(value=<tensor>)                W (initializer)
//   X -> Conv(W) -> BatchNormalization(...)     X -> Conv(W) -> BatchNormalization(...)
//
// Why: exporters such as paddle2onnx keep every weight in a Constant node. The passes that rewrite
// weights (fuse-conv-bn, fold-constants' materialization) work on initializers, so on such files
// they found nothing to do; after this pass they do.
// Preconditions (otherwise the node is kept, silently): default-domain Constant with one output
// and a `value` tensor attribute (value_float/value_ints... are left as they are); the name is not
// read inside a subgraph (If/Loop bodies may shadow names), nor already an initializer or input.
// Math: none; an initializer is the same constant, stored where graph tools expect weights.
#include <fmt/format.h>

#include "lib/onnx/graph_utils.h"
#include "passes/onnx/onnx_passes.h"

namespace mopt {
namespace {

class ConstantsToInitializersPass final : public Pass {
 public:
  const PassInfo& info() const override {
    static const PassInfo info{"constants-to-initializers",
                               "Turns Constant nodes holding tensors into initializers (as paddle2onnx files need)",
                               {ModelFormat::kOnnx},
                               {}};
    return info;
  }

  PassStats run(Model& model, const PassOptions&, const PassContext&) const override {
    auto& proto = model.onnx();
    auto& graph = *proto.mutable_graph();
    const auto pinned = subgraph_references(graph);
    const auto inputs = graph_input_names(graph);
    std::set<int> lifted;
    std::vector<onnx::TensorProto> created;
    for (int n = 0; n < graph.node_size(); ++n) {
      const auto& node = graph.node(n);
      if (!is_onnx_op(node, "Constant") || node.output_size() != 1 || node.attribute_size() != 1) continue;
      const auto& attr = node.attribute(0);
      const auto& name = node.output(0);
      if (attr.name() != "value" || !attr.has_t() || pinned.count(name) || inputs.count(name) ||
          find_initializer(graph, name)) {
        continue;
      }
      onnx::TensorProto tensor = attr.t();
      tensor.set_name(name);
      created.push_back(std::move(tensor));
      lifted.insert(n);
    }
    remove_nodes(graph, lifted);
    for (auto& tensor : created) add_initializer(proto, std::move(tensor));
    PassStats stats;
    stats.rewrites = static_cast<int64_t>(lifted.size());
    stats.details = {{"constants_lifted", lifted.size()}};
    return stats;
  }
};

}  // namespace

std::unique_ptr<Pass> make_onnx_constants_to_initializers_pass() { return std::make_unique<ConstantsToInitializersPass>(); }

}  // namespace mopt
