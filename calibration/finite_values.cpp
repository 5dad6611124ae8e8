#include "calibration/finite_values.h"

#include "lib/errors.h"

namespace mopt {

torch::Tensor flat_real_values(const torch::Tensor& values) {
  if (!values.defined()) throw runtime_failure("calibration got an undefined tensor; observe only real activations");
  if (values.is_complex() || values.scalar_type() == torch::kBool) {
    throw runtime_failure("calibration needs real-valued activations, got " + std::string(c10::toString(values.scalar_type())));
  }
  auto real = values.is_quantized() ? values.dequantize() : values;
  const auto type = real.scalar_type() == torch::kDouble ? torch::kDouble : torch::kFloat;
  return real.detach().to(torch::kCPU, type).reshape({-1}).contiguous();
}

torch::Tensor finite_values(const torch::Tensor& values) {
  auto flat = flat_real_values(values);
  // Integer tensors are always finite; skip the mask (and its copy) in the common float case too.
  if (flat.numel() == 0 || torch::isfinite(flat).all().item<bool>()) return flat;
  return flat.masked_select(torch::isfinite(flat)).contiguous();
}

}  // namespace mopt
