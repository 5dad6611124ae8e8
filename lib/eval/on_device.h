#pragma once
// A model on a GPU: moved there whole, run in batches, outputs back on the host. For `bench
// --device cuda` and the before/after comparisons of commands that build GPU artifacts.
#include <c10/core/Device.h>
#include <torch/script.h>

#include <vector>

#include "lib/model/model.h"

namespace mopt {

/// The model with every tensor on `device`, a frozen graph's constants too (Module::to() moves only
/// parameters and buffers). TorchScript only: an AOTInductor package runs where it was compiled for.
Model model_on_device(const Model& model, c10::Device device);

/// Runs `model` on `inputs` (host tensors, moved to `device`) in batches of `batch_size` and waits for the
/// GPU; returns the outputs on the host.
torch::Tensor run_on_device(const Model& model, const std::vector<torch::Tensor>& inputs, c10::Device device,
                            int64_t batch_size);

}  // namespace mopt
