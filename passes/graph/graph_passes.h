#pragma once
// Graph passes over TorchScript modules, thin wrappers over LibTorch's JIT passes that add
// preconditions (eval mode), stats and a must-not-fire guarantee.
#include <torch/csrc/jit/ir/ir.h>
#include <torch/script.h>

#include <cstdint>
#include <memory>

#include "lib/pipeline/pass.h"

namespace mopt {

/// `freeze`: inlines parameters and attributes as constants (torch.jit.freeze).
std::unique_ptr<Pass> make_freeze_pass();
/// What passes that need constant weights do first: puts `module` in eval mode and freezes it
/// unless it is frozen already (a frozen module has no `training` attribute). Returns whether it
/// froze. `optimize_numerics` as torch.jit.freeze's.
bool freeze_unless_frozen(torch::jit::Module& module, bool optimize_numerics);
/// `fold-conv-bn`: folds BatchNorm into the preceding Conv's weight and bias.
std::unique_ptr<Pass> make_fold_conv_bn_pass();
/// `remove-dropout`: deletes dropout ops (identity at inference).
std::unique_ptr<Pass> make_remove_dropout_pass();
/// What remove-dropout does to one graph: deletes the dropout ops whose `train` flag is false (a
/// constant, or a read of an eval-mode module's `training`), nested blocks included. Returns how many.
int64_t remove_inactive_dropouts(torch::jit::Graph& graph);
/// `optimize-for-inference`: torch.jit.optimize_for_inference (oneDNN layouts, fusions).
std::unique_ptr<Pass> make_optimize_for_inference_pass();
/// `optimize-for-mobile`: XNNPACK prepacked conv/linear with fused clamps.
std::unique_ptr<Pass> make_optimize_for_mobile_pass();
/// `eliminate-dead-code`: removes graph nodes whose results are unused.
std::unique_ptr<Pass> make_eliminate_dead_code_pass();
/// `specialize-input-shape`: fixes forward()'s input shapes and folds size/dim queries and branches.
std::unique_ptr<Pass> make_specialize_input_shape_pass();
/// `fuse-add-relu`: add followed by relu becomes one aten::_add_relu.
std::unique_ptr<Pass> make_fuse_add_relu_pass();
/// `single-row-matvec`: a linear layer called with one row runs as a matrix-vector product.
std::unique_ptr<Pass> make_single_row_matvec_pass();
/// `channels-last`: frozen conv weights stored in NHWC order (convolutions then run in NHWC).
std::unique_ptr<Pass> make_channels_last_pass();
/// `prepack-lstm`: fp32 LSTMs run oneDNN's RNN kernel on weights packed once, when the file loads.
std::unique_ptr<Pass> make_prepack_lstm_pass();

}  // namespace mopt
