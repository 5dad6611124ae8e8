#pragma once
// Which layers a pruning run touches: every Conv/Linear by default, narrowed by glob patterns
// over dotted module paths ("features.0", "layer1.*.conv1").
#include <torch/script.h>

#include <string>
#include <vector>

namespace mopt::prune {

/// fnmatch globs over dotted module paths; `*` also crosses dots ("layer1.*" covers "layer1.0.conv1").
struct LayerSelection {
  std::vector<std::string> include;  ///< empty = every prunable layer
  std::vector<std::string> exclude;
};

/// Dotted paths of the Conv1d/2d/3d and Linear submodules (a >= 2-d "weight" parameter), in module
/// order, kept by `include` (empty = all) and then dropped by `exclude`. Throws usage_error naming the
/// pattern and listing the layers when a pattern matches no layer, or when no layer is left.
std::vector<std::string> prunable_layers(const torch::jit::Module& module, const LayerSelection& selection);

/// "a, b, c" for error messages; long lists end in "... (N more)".
std::string join_layers(const std::vector<std::string>& layers);

}  // namespace mopt::prune
