#pragma once
// LibTorch's quantization passes fail with c10::Error messages written for PyTorch developers: a
// graph dump, a C++ assertion, a TorchScript traceback. These helpers turn them into one line that
// says what failed, where in the model's code, and what the user can do.
#include <fmt/format.h>
#include <torch/script.h>

#include <string>

#include "lib/errors.h"

namespace mopt::quant {

/// The first line of a LibTorch message's reason, without graph dumps or backtraces.
std::string torch_error_reason(const std::string& what);

/// Where the message points in the model's code: "torchvision/ops/stochastic_depth.py:32" from a
/// graph node's source comment, or "code/__torch__.py, line 12" from a TorchScript traceback (the
/// innermost frame); "" when it names no place.
std::string torch_error_location(const std::string& what);

/// "quantization failed while STAGE: REASON (at LOCATION) in layer LAYERS. ADVICE" as a runtime failure.
Error quantization_failure(const std::string& stage, const std::string& what, const std::string& layers,
                           const std::string& advice);

/// Runs `step`; a c10::Error or a TorchScript frontend error from it becomes quantization_failure.
template <typename Step>
auto quantization_stage(const std::string& stage, const std::string& advice, Step&& step) -> decltype(step()) {
  try {
    return step();
  } catch (const Error&) {
    throw;
  } catch (const c10::Error& e) {
    throw quantization_failure(stage, e.what(), "", advice);
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {  // torch::jit::ErrorReport is not a c10::Error
    throw quantization_failure(stage, e.what(), "", advice);
  }
}

}  // namespace mopt::quant
