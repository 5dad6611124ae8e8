#pragma once
// Small helpers shared by the pruning code: find a submodule by its dotted path and read or
// replace its tensors without losing what they are (parameter vs buffer, requires_grad).
#include <torch/script.h>

#include <string>

namespace mopt::prune {

/// The submodule at a dotted path such as "layer1.0.conv1" ("" is the module itself).
/// Throws usage_error when a part of the path is not a submodule.
torch::jit::Module submodule_at(const torch::jit::Module& module, const std::string& path);

/// The fully qualified TorchScript type name, e.g. "__torch__.torch.nn.modules.conv.Conv2d".
std::string type_name(const torch::jit::Module& module);

/// True for Conv1d/2d/3d, ConvTranspose and Linear-like modules with a >= 2-d "weight" parameter.
bool is_prunable_layer(const torch::jit::Module& module);

/// True when the module's type name says it is a transposed convolution (weight [in, out/g, ...]).
bool is_transposed_conv(const torch::jit::Module& module);

/// The module's tensor attribute `name` (undefined tensor when absent or None).
torch::Tensor tensor_attr(const torch::jit::Module& module, const std::string& name);

/// Replaces tensor attribute `name` with `value`. The slot keeps its kind (parameter or buffer);
/// a parameter's replacement gets the old tensor's requires_grad so training still sees it.
void replace_tensor_attr(torch::jit::Module& module, const std::string& name, torch::Tensor value);

/// Number of elements in the module's own parameters (not its children's, not buffers).
int64_t own_parameter_count(const torch::jit::Module& module);

}  // namespace mopt::prune
