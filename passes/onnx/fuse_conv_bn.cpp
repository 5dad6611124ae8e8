// `fuse-conv-bn`: folds an inference-mode BatchNormalization into the preceding Conv.
//
// Before:                                        After:
//   X -> Conv(W, b) -> Z -> BatchNormalization -> Y   X -> Conv(W', b') -> Y
//
// Preconditions (otherwise the pair is left alone, silently):
//   - default-domain Conv and BatchNormalization; BN is in inference form: only output Y is used
//     (no running-mean/var outputs), training_mode = 0, spatial = 1 (opset < 9), is_test = 1
//     (opset < 7);
//   - Z is read only by the BN, is not a graph output and is not read inside a subgraph;
//   - W, b (when present) and the BN's scale, B, mean, var are initializers that are not graph
//     inputs (a graph input with a default could be overridden at run time), all of one float
//     dtype (float, double or float16), and the BN params are 1-D of length C_out = W.shape[0].
// Math (per output channel c, computed in double and rounded once to the model's dtype):
//   s[c]    = scale[c] / sqrt(var[c] + epsilon)
//   W'[c]   = W[c] * s[c]
//   b'[c]   = (b[c] - mean[c]) * s[c] + B[c]          (b = 0 when the Conv had no bias)
// A Conv without bias gets a new bias initializer. W and b are updated in place when only this
// Conv reads them, else written to new initializers. Y keeps its name, so graph outputs survive.
#include <fmt/format.h>

#include "lib/onnx/graph_utils.h"
#include "lib/onnx/node_attributes.h"
#include "passes/onnx/onnx_passes.h"

namespace mopt {
namespace {

bool is_inference_bn(const onnx::NodeProto& bn, int64_t opset) {
  if (!is_onnx_op(bn, "BatchNormalization") || bn.input_size() != 5 || bn.output_size() < 1 ||
      bn.output(0).empty()) {
    return false;
  }
  for (int i = 1; i < bn.output_size(); ++i) {
    if (!bn.output(i).empty()) return false;
  }
  // Before opset 7, is_test (default 0) picks batch statistics even with one output.
  if (opset < 7 && int_attribute(bn, "is_test", 0) != 1) return false;
  return int_attribute(bn, "training_mode", 0) == 0 && int_attribute(bn, "spatial", 1) == 1;
}

// The decoded constant tensor `name`, or an undefined tensor when it is not a fixed initializer.
at::Tensor constant(const onnx::GraphProto& graph, const std::string& name) {
  const auto* init = find_constant_initializer(graph, name);
  if (!init) return {};
  auto tensor = tensor_to_torch(*init);
  return tensor ? *tensor : at::Tensor();
}

// Stores `value` as the initializer `name` in place when `exclusive`, else as a new initializer;
// returns the name the Conv should read.
std::string store(onnx::ModelProto& model, const std::string& name, const at::Tensor& value, bool exclusive,
                  const std::string& fresh_base) {
  auto& graph = *model.mutable_graph();
  if (exclusive) {
    *find_initializer(graph, name) = torch_to_tensor(value, name);
    return name;
  }
  auto fresh = unique_value_name(graph, fresh_base);
  add_initializer(model, torch_to_tensor(value, fresh));
  return fresh;
}

struct Skips {
  int shared_output = 0;
  int non_constant_params = 0;
  int unsupported_form = 0;
};

class FuseConvBnPass final : public Pass {
 public:
  const PassInfo& info() const override {
    static const PassInfo info{
        "fuse-conv-bn",
        "Folds inference-mode BatchNormalization into the preceding Conv's weight and bias",
        {ModelFormat::kOnnx},
        {}};
    return info;
  }

  PassStats run(Model& model, const PassOptions&, const PassContext&) const override {
    auto& proto = model.onnx();
    auto& graph = *proto.mutable_graph();
    const int nodes_before = graph.node_size();
    const int64_t opset = default_opset(proto);
    const auto read_before = read_names(graph);
    const auto outputs = graph_output_names(graph);
    const auto pinned = subgraph_references(graph);
    Skips skips;
    std::set<int> doomed;
    int fused = 0;

    // Deterministic order: BNs in graph order. Each fusion rewrites one Conv and removes one BN,
    // and no Conv can feed two BNs (Z must have one reader), so the maps built here stay valid.
    const auto producers = build_producers(graph);
    const auto consumers = build_consumers(graph);
    for (int b = 0; b < graph.node_size(); ++b) {
      const auto& bn = graph.node(b);
      if (!is_onnx_op(bn, "BatchNormalization") || bn.input_size() < 1) continue;
      auto producer = producers.find(bn.input(0));
      if (producer == producers.end() || !is_onnx_op(graph.node(producer->second), "Conv")) continue;
      const int c = producer->second;
      const auto& conv = graph.node(c);
      const std::string z = bn.input(0);

      if (!is_inference_bn(bn, opset) || conv.input_size() < 2 || conv.output_size() != 1) {
        ++skips.unsupported_form;
        continue;
      }
      if (consumers.at(z).size() != 1 || outputs.count(z) || pinned.count(z)) {
        ++skips.shared_output;
        continue;
      }
      const bool has_bias = conv.input_size() > 2 && !conv.input(2).empty();
      at::Tensor w = constant(graph, conv.input(1));
      at::Tensor bias = has_bias ? constant(graph, conv.input(2)) : at::Tensor();
      at::Tensor scale = constant(graph, bn.input(1));
      at::Tensor beta = constant(graph, bn.input(2));
      at::Tensor mean = constant(graph, bn.input(3));
      at::Tensor var = constant(graph, bn.input(4));
      if (!w.defined() || (has_bias && !bias.defined()) || !scale.defined() || !beta.defined() ||
          !mean.defined() || !var.defined()) {
        ++skips.non_constant_params;
        continue;
      }
      const auto dtype = w.scalar_type();
      const int64_t out_channels = w.dim() >= 1 ? w.size(0) : -1;
      bool shapes_ok = (dtype == at::kFloat || dtype == at::kDouble || dtype == at::kHalf) && w.dim() >= 3;
      for (const auto* t : {&bias, &scale, &beta, &mean, &var}) {
        if (!t->defined()) continue;
        shapes_ok = shapes_ok && t->scalar_type() == dtype && t->dim() == 1 && t->size(0) == out_channels;
      }
      if (!shapes_ok) {
        ++skips.unsupported_form;
        continue;
      }

      // Transform, in double so the only rounding is the final cast back.
      const double eps = float_attribute(bn, "epsilon", 1e-5f);
      auto s = scale.to(at::kDouble) / at::sqrt(var.to(at::kDouble) + eps);
      std::vector<int64_t> per_channel(w.dim(), 1);
      per_channel[0] = out_channels;
      auto w_fused = (w.to(at::kDouble) * s.reshape(per_channel)).to(dtype);
      auto b0 = has_bias ? bias.to(at::kDouble) : at::zeros({out_channels}, at::kDouble);
      auto b_fused = ((b0 - mean.to(at::kDouble)) * s + beta.to(at::kDouble)).to(dtype);

      const std::string w_name = conv.input(1);
      const std::string b_name = has_bias ? conv.input(2) : std::string();
      const bool w_exclusive = consumers.at(w_name).size() == 1 && !outputs.count(w_name) && !pinned.count(w_name);
      const bool b_exclusive = has_bias && consumers.at(b_name).size() == 1 && !outputs.count(b_name) &&
                               !pinned.count(b_name);
      const std::string y = bn.output(0);
      auto new_w = store(proto, w_name, w_fused, w_exclusive, y + "_fused_weight");
      auto new_b = store(proto, b_name, b_fused, b_exclusive, y + "_fused_bias");

      auto& conv_mut = *graph.mutable_node(c);
      conv_mut.set_input(1, new_w);
      if (conv_mut.input_size() > 2) {
        conv_mut.set_input(2, new_b);
      } else {
        conv_mut.add_input(new_b);
      }
      conv_mut.set_output(0, y);
      doomed.insert(b);
      ++fused;
    }

    remove_nodes(graph, doomed);
    const int initializers_removed = remove_unused_initializers(graph, &read_before);
    prune_value_info(graph);

    PassStats stats;
    stats.rewrites = fused;
    stats.details = {{"nodes_before", nodes_before},
                     {"nodes_after", graph.node_size()},
                     {"fused", fused},
                     {"initializers_removed", initializers_removed},
                     {"skipped_shared_conv_output", skips.shared_output},
                     {"skipped_non_constant_params", skips.non_constant_params},
                     {"skipped_unsupported_form", skips.unsupported_form}};
    return stats;
  }
};

}  // namespace

std::unique_ptr<Pass> make_onnx_fuse_conv_bn_pass() { return std::make_unique<FuseConvBnPass>(); }

}  // namespace mopt
