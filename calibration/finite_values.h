#pragma once
// The one way calibrators read a batch: flat, float64, finite values only.
#include <torch/script.h>

namespace mopt {

/// The finite values of `values` as a flat contiguous float64 CPU tensor (possibly empty).
/// NaN and ±inf are dropped: one -inf from an attention mask would otherwise make every range useless.
torch::Tensor finite_values(const torch::Tensor& values);

}  // namespace mopt
