#pragma once
// Inference-only branches resolved before quantization. LibTorch's InsertObservers needs every
// `if` to return values that are observed the same way in both branches; code that branches on
// `self.training` breaks that (torchvision's stochastic depth returns its input unchanged at
// inference and `input * noise` in training). At inference those branches are dead code.
#include <torch/script.h>

#include <cstdint>

namespace mopt::quant {

/// For a module whose every submodule is in eval mode: replaces reads of a module's `training`
/// attribute with the constant false in every method, inlines the functions that receive the flag
/// (torchvision.ops.stochastic_depth, F.dropout, ...) so their branches see the constant, then
/// folds the now-constant `if`s away and deletes the dropout ops (the identity at inference, and
/// each would end the INT8 chain). Method calls to submodules stay calls (InsertObservers
/// works per module). Edits the method graphs in place: call it on a clone. Returns the number
/// of `training` reads replaced; 0 leaves the module as it was.
int64_t resolve_inference_branches(torch::jit::Module& module);

}  // namespace mopt::quant
