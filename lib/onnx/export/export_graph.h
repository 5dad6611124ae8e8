#pragma once
// The graph the ONNX exporter translates: the frozen, inlined forward() of a TorchScript model with
// what only steers PyTorch's own execution resolved, so that the ops left compute the model and
// have ONNX forms:
//   - dicts with constant keys are resolved, a returned one into a tuple of its values (dict_outputs.h);
//   - trailing inputs that default to None (nn.TransformerEncoder's masks) are None;
//   - argument checks (branches that only raise) are dropped;
//   - ranks are folded (the export declares its inputs' ranks): aten::dim of any tensor whose rank
//     LibTorch's shape propagation knows, which resolves batched/unbatched branches;
//   - execution-environment queries get the answers that select PyTorch's general path: grad mode
//     on and weights requiring grad, no autocast, a dense CPU tensor. The fused inference fast
//     paths they would otherwise select (_transformer_encoder_layer_fwd,
//     _native_multi_head_attention) compute the same function with kernels ONNX has no op for.
//   - lists of known length and loops over them (shape arithmetic of a model imported from ONNX)
//     are unrolled, and a branch between numbers computed without side effects becomes a select.
// Tensor sizes are not folded: the exported graph keeps them dynamic.
#include <torch/csrc/jit/ir/ir.h>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "lib/model/model.h"

namespace mopt::onnx_export {

/// How a quantized tensor value (LibTorch INT8) maps its integers to reals; per tensor, as
/// LibTorch's activations are.
struct QuantParams {
  double scale = 1.0;
  int64_t zero_point = 0;
  at::ScalarType dtype = at::kQUInt8;
};

struct ExportableGraph {
  std::shared_ptr<torch::jit::Graph> graph;
  /// The quantized tensor values of the top-level block, with the parameters the run on the
  /// examples gave them (fixed by the ops, not by the data).
  std::unordered_map<const torch::jit::Value*, QuantParams> quantized;
  /// The sizes the top-level tensor values took on the examples. The export keeps sizes dynamic:
  /// these serve only an attribute that ONNX wants static where the model fixes it (the hidden size
  /// of a recurrent layer whose weights are inputs).
  std::unordered_map<const torch::jit::Value*, std::vector<int64_t>> example_sizes;
  /// The keys of a returned dict, whose values the graph now returns as a tuple (dict_outputs.h).
  std::vector<std::string> output_names;
};

/// The prepared forward() graph (input 0 is the module; then the model's tensor inputs, typed like
/// `examples`, one per input). Throws usage_error when forward() takes another number of inputs.
ExportableGraph exportable_graph(const Model& model, const std::vector<at::Tensor>& examples);

}  // namespace mopt::onnx_export
