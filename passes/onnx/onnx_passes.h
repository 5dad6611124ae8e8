#pragma once
// Graph passes over ONNX ModelProto. Each keeps the model valid under onnx::checker and its
// outputs unchanged (within float tolerance for the folding passes).
#include <memory>

#include "lib/data/dataset.h"
#include "lib/pipeline/pass.h"

namespace mopt {

/// The hardware-independent ONNX clean-up run before ONNX Runtime gets a file: `compile`'s pipeline
/// for ONNX in and out, and `quantize`'s preparation of an ONNX model (what ORT's quant_pre_process
/// does: constants as initializers, BatchNorm folded, so each Conv meets its Q/DQ directly).
inline constexpr const char* kOnnxCleanupPipeline =
    "constants-to-initializers,fold-constants,eliminate-identity,eliminate-dropout,fuse-conv-bn,fuse-matmul-add,eliminate-dead-nodes";

/// `eliminate-identity`: reroutes consumers of Identity nodes to their input.
std::unique_ptr<Pass> make_onnx_eliminate_identity_pass();
/// `eliminate-dead-nodes`: drops nodes (and initializers) no graph output depends on.
std::unique_ptr<Pass> make_onnx_eliminate_dead_nodes_pass();
/// `fold-constants`: evaluates subgraphs whose inputs are all initializers/Constants.
std::unique_ptr<Pass> make_onnx_fold_constants_pass();
/// `constants-to-initializers`: Constant nodes holding tensors become initializers.
std::unique_ptr<Pass> make_onnx_constants_to_initializers_pass();
/// `fuse-conv-bn`: folds BatchNormalization (inference) into the preceding Conv's weights.
std::unique_ptr<Pass> make_onnx_fuse_conv_bn_pass();
/// `fuse-matmul-add`: MatMul by a constant matrix + Add of a constant bias -> Gemm (2-D inputs).
std::unique_ptr<Pass> make_onnx_fuse_matmul_add_pass();
/// `eliminate-dropout`: removes inference-mode Dropout nodes.
std::unique_ptr<Pass> make_onnx_eliminate_dropout_pass();

/// `specialize-input-shape` on ONNX (the pass is make_specialize_input_shape_pass): checks `specs`
/// against the graph's fed inputs, one each, in order (rank, fixed dims, name when given), and
/// returns them with each input's name and element type. Usage error when they do not fit.
std::vector<InputSpec> onnx_input_specs(const onnx::ModelProto& model, const std::vector<InputSpec>& specs);
/// Fixes those inputs' dims, folds the Shape/Size queries and the arithmetic on them, and fixes
/// the output dims inference finds. `specs` as onnx_input_specs returns them.
PassStats specialize_onnx_input_shapes(Model& model, const std::vector<InputSpec>& specs);

}  // namespace mopt
