#pragma once
// The one way calibrators read a batch: flat, contiguous, CPU, float32 (float64 stays float64).
// Calibration reads every activation of every sample, so nothing here widens or copies what it
// need not: a float32 activation is read in place.
#include <torch/script.h>

namespace mopt {

/// `values` flattened into a contiguous CPU tensor of float32, or float64 when it is float64;
/// quantized tensors dequantized. runtime_failure for undefined, complex or bool tensors.
torch::Tensor flat_real_values(const torch::Tensor& values);

/// The finite values of `values`, as flat_real_values gives them (possibly empty).
/// NaN and ±inf are dropped: one -inf from an attention mask would otherwise make every range useless.
torch::Tensor finite_values(const torch::Tensor& values);

}  // namespace mopt
