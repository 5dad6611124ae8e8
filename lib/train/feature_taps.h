#pragma once
// Intermediate-layer outputs of a TorchScript model, for feature distillation. The model's
// forward graph is inlined and a `mopt::tap` node is placed on the value leaving the named
// submodule; during a forward pass the tap hands that tensor (autograd history intact) to the
// active FeatureCapture. Tapped models are for training only: the op does not exist in PyTorch,
// so copy the trained weights into an untapped model before saving (restore_weights).
#include <torch/script.h>

#include <map>
#include <string>
#include <vector>

namespace mopt::train {

/// Inlines `model`'s forward and taps the output of each layer (dotted submodule path, as in
/// named_modules) with ids first_id, first_id+1, ... usage_error when a layer does not exist or
/// does not have exactly one output value; the message lists the model's layers.
void insert_feature_taps(torch::jit::Module& model, const std::vector<std::string>& layers, int64_t first_id = 0);

/// Collects the tensors tapped during its lifetime (one capture at a time per process).
class FeatureCapture {
 public:
  FeatureCapture();
  ~FeatureCapture();
  FeatureCapture(const FeatureCapture&) = delete;
  FeatureCapture& operator=(const FeatureCapture&) = delete;
  /// The tensor tapped with `id` by the last forward pass; runtime_failure if none was.
  torch::Tensor get(int64_t id) const;
  void clear();
};

}  // namespace mopt::train
