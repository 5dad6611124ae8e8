#pragma once
// Depthwise convs after channel pruning: their `groups` must shrink with their channels.
#include <torch/script.h>

namespace mopt::prune {

/// True when every convolution in the module's methods takes `groups` from something we can
/// rewrite (a compiled constant, a plain int attribute, or already the weight's size).
bool depthwise_groups_editable(const torch::jit::Module& conv);

/// Makes the depthwise conv's methods take `groups` from weight.size(0) instead of the constant
/// scripting baked in (nn.Conv2d keeps `groups` as a class constant, so it cannot be set per
/// instance). Every instance of the type is depthwise with groups == out channels, so reading the
/// weight's size is right for all of them. Call on a module whose methods have not run yet:
/// executors that already ran keep the old, inlined graph.
void take_depthwise_groups_from_weight(torch::jit::Module& conv);

}  // namespace mopt::prune
