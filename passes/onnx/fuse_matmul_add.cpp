// `fuse-matmul-add`: a MatMul by a constant matrix followed by the Add of a constant bias becomes
// one Gemm (what torch.onnx writes for nn.Linear on 2-D inputs at some opsets, and what ORT's own
// MatMulAddFusion does at session start; done offline it makes the file smaller to load and lets
// the QDQ quantizer see a Gemm).
//
// Before:                                     After:
//   A -> MatMul(B) -> Y -> Add(C) -> Z          A -> Gemm(B, C) -> Z
//
// Preconditions (otherwise the pair is left alone, silently):
//   - default-domain MatMul and Add, opset >= 7 (Gemm's C broadcasts from then on);
//   - A has rank 2 by shape inference (Gemm takes matrices only; a 3-D A stays a MatMul);
//   - B is a 2-D constant initializer [K, N], C a constant initializer of shape [N] or [1, N], both
//     float or double;
//   - Y is read only by the Add, is not a graph output and is not read inside a subgraph.
// Math: Gemm(A, B, C) = A x B + C with alpha = beta = 1: the same operations in the same order.
#include "lib/onnx/graph_utils.h"
#include "passes/onnx/onnx_passes.h"

namespace mopt {
namespace {

bool is_float(const onnx::TensorProto& t) {
  return t.data_type() == onnx::TensorProto::FLOAT || t.data_type() == onnx::TensorProto::DOUBLE;
}

class FuseMatMulAddPass final : public Pass {
 public:
  const PassInfo& info() const override {
    static const PassInfo info{"fuse-matmul-add", "Fuses MatMul by a constant matrix + Add of a constant bias into Gemm (2-D inputs)",
                               {ModelFormat::kOnnx}, {}};
    return info;
  }

  PassStats run(Model& model, const PassOptions&, const PassContext&) const override {
    PassStats stats;
    stats.details = {{"fused", 0}};
    if (default_opset(model.onnx()) < 7) return stats;
    const auto types = inferred_tensor_types(model.onnx());
    auto& graph = *model.onnx().mutable_graph();
    const auto consumers = build_consumers(graph);
    const auto outputs = graph_output_names(graph);
    const auto pinned = subgraph_references(graph);

    std::set<int> doomed;
    for (int n = 0; n < graph.node_size(); ++n) {
      const auto& matmul = graph.node(n);
      if (!is_onnx_op(matmul, "MatMul") || matmul.input_size() != 2) continue;
      const auto& y = matmul.output(0);
      auto a_type = types.find(matmul.input(0));
      const auto* b = find_constant_initializer(graph, matmul.input(1));
      auto uses = consumers.find(y);
      const bool a_is_matrix = a_type != types.end() && a_type->second.has_shape() && a_type->second.shape().dim_size() == 2;
      if (!a_is_matrix || !b || b->dims_size() != 2 || !is_float(*b)) continue;
      if (outputs.count(y) || pinned.count(y) || uses == consumers.end() || uses->second.size() != 1) continue;
      auto& add = *graph.mutable_node(uses->second[0].node);
      if (!is_onnx_op(add, "Add") || add.input_size() != 2) continue;
      const auto& bias_name = add.input(1 - uses->second[0].input);
      const auto* c = find_constant_initializer(graph, bias_name);
      if (!c || !is_float(*c) || c->data_type() != b->data_type() || c->dims(c->dims_size() - 1) != b->dims(1)) continue;
      if (c->dims_size() != 1 && !(c->dims_size() == 2 && c->dims(0) == 1)) continue;
      // The Add becomes the Gemm (it sits after everything both nodes read); the MatMul goes.
      const std::string a = matmul.input(0), weight = matmul.input(1), bias = bias_name, name = matmul.name();
      add.set_op_type("Gemm");
      add.set_name(name.empty() ? add.name() : name);
      add.clear_input();
      add.add_input(a);
      add.add_input(weight);
      add.add_input(bias);
      doomed.insert(n);
    }
    remove_nodes(graph, doomed);
    prune_value_info(graph);
    stats.rewrites = static_cast<int>(doomed.size());
    stats.details = {{"fused", doomed.size()}};
    return stats;
  }
};

}  // namespace

std::unique_ptr<Pass> make_onnx_fuse_matmul_add_pass() { return std::make_unique<FuseMatMulAddPass>(); }

}  // namespace mopt
