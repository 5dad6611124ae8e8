#include "passes/register_all_passes.h"

#include "passes/graph/graph_passes.h"
#include "passes/onnx/onnx_passes.h"
#include "passes/quantize/quantize_passes.h"

namespace mopt {

void register_all_passes(PassRegistry& registry) {
  // TorchScript graph passes.
  registry.add(make_freeze_pass());
  registry.add(make_fold_conv_bn_pass());
  registry.add(make_remove_dropout_pass());
  registry.add(make_optimize_for_inference_pass());
  registry.add(make_optimize_for_mobile_pass());
  registry.add(make_eliminate_dead_code_pass());
  registry.add(make_specialize_input_shape_pass());
  registry.add(make_fuse_add_relu_pass());
  registry.add(make_channels_last_pass());
  registry.add(make_single_row_matvec_pass());
  registry.add(make_prepack_lstm_pass());
  // Quantization.
  registry.add(make_quantize_dynamic_pass());
  registry.add(make_quantize_static_pass());
  registry.add(make_compute_bf16_pass());
  registry.add(make_compute_fp16_pass());
  registry.add(make_store_weights_pass());
  // ONNX graph passes.
  registry.add(make_onnx_eliminate_identity_pass());
  registry.add(make_onnx_eliminate_dead_nodes_pass());
  registry.add(make_onnx_fold_constants_pass());
  registry.add(make_onnx_constants_to_initializers_pass());
  registry.add(make_onnx_fuse_conv_bn_pass());
  registry.add(make_onnx_fuse_matmul_add_pass());
  registry.add(make_onnx_eliminate_dropout_pass());
}

PassRegistry make_default_registry() {
  PassRegistry registry;
  register_all_passes(registry);
  return registry;
}

}  // namespace mopt
