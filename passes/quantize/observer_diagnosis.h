#pragma once
// Which layer made InsertObservers fail. Its error names a graph node, not a module; retrying the
// pass on each submodule on its own finds the smallest modules that fail, which is what a user can
// act on (move the branch out, keep the layer out of the model before quantizing).
#include <torch/csrc/jit/passes/quantization/insert_observers.h>
#include <torch/script.h>

#include <string>
#include <vector>

namespace mopt::quant {

/// Paths of the deepest submodules of `module` on which InsertObservers fails alone, in module
/// order: a module is tried only when none of its descendants failed. At most `limit` paths.
std::vector<std::string> modules_failing_observers(const torch::jit::Module& module, const torch::jit::QConfig& qconfig,
                                                   torch::jit::QuantType type, size_t limit = 8);

}  // namespace mopt::quant
