// `eliminate-dropout`: Dropout is the identity at inference; it goes, like ORT's EliminateDropout.
//
// Before:                        After:
//   X -> Dropout -> Y -> Op        X -> Op
//
// Preconditions (otherwise the Dropout is kept, silently):
//   - default-domain Dropout whose mask output (if any) nothing reads;
//   - inference mode: no training_mode input (opset 12+) or a constant false one; is_test = 1
//     below opset 7 (before that, Dropout in training form scaled its output).
// The Dropout becomes an Identity and `eliminate-identity` removes it, so graph output names are
// kept by the same rules.
#include "lib/onnx/graph_utils.h"
#include "lib/onnx/node_attributes.h"
#include "passes/onnx/onnx_passes.h"

namespace mopt {
namespace {

bool in_inference_mode(const onnx::GraphProto& graph, const onnx::NodeProto& node, int64_t opset) {
  if (opset < 7) return int_attribute(node, "is_test", 0) != 0;
  if (node.input_size() < 3 || node.input(2).empty()) return true;
  const auto* mode = find_constant_initializer(graph, node.input(2));
  if (!mode) return false;
  auto value = tensor_to_torch(*mode);
  return value && value->numel() == 1 && !value->item<bool>();
}

class EliminateDropoutPass final : public Pass {
 public:
  const PassInfo& info() const override {
    static const PassInfo info{"eliminate-dropout", "Removes inference-mode Dropout nodes (the identity at inference)",
                               {ModelFormat::kOnnx}, {}};
    return info;
  }

  PassStats run(Model& model, const PassOptions& options, const PassContext& context) const override {
    const int64_t opset = default_opset(model.onnx());
    auto& graph = *model.onnx().mutable_graph();
    const auto consumers = build_consumers(graph);
    const auto outputs = graph_output_names(graph);
    int converted = 0;
    std::set<std::string> dropped_inputs;  // ratio, training_mode
    for (auto& node : *graph.mutable_node()) {
      if (!is_onnx_op(node, "Dropout") || node.input_size() < 1 || node.output_size() < 1) continue;
      const bool mask_used = node.output_size() > 1 && !node.output(1).empty() &&
                             (consumers.count(node.output(1)) || outputs.count(node.output(1)));
      if (mask_used || !in_inference_mode(graph, node, opset)) continue;
      const std::string x = node.input(0), y = node.output(0);
      for (int i = 1; i < node.input_size(); ++i) dropped_inputs.insert(node.input(i));
      node.set_op_type("Identity");
      node.clear_attribute();
      node.clear_input();
      node.add_input(x);
      node.clear_output();
      node.add_output(y);
      ++converted;
    }
    PassStats stats;
    if (converted > 0) {
      remove_unused_initializers(graph, &dropped_inputs);
      stats = make_onnx_eliminate_identity_pass()->run(model, options, context);
    }
    stats.rewrites = converted;
    stats.details["dropouts_removed"] = converted;
    return stats;
  }
};

}  // namespace

std::unique_ptr<Pass> make_onnx_eliminate_dropout_pass() { return std::make_unique<EliminateDropoutPass>(); }

}  // namespace mopt
