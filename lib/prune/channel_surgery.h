#pragma once
// Physically removes channels: slices every tensor that depends on a group's channels.
#include <torch/script.h>

#include <vector>

#include "lib/prune/channel_dependencies.h"
#include "lib/prune/channel_pruning.h"

namespace mopt::prune {

/// One group's cut: which of its channels survive.
struct ChannelCut {
  const ChannelDependencies* dependencies = nullptr;
  int64_t channels = 0;  ///< C before the cut
  torch::Tensor keep;    ///< int64 channel indices to keep, ascending
};

/// Slices producers' and depthwise convs' weight/bias dim 0, batch norms' weight/bias/running stats,
/// and consumers' weight dim 1 (in blocks of in_features / C after a flatten); rewrites depthwise
/// convs' groups; updates plain int size attributes (in_channels, ...) where the type has them.
/// Returns the modules that changed, in module order.
std::vector<LayerChange> cut_channels(torch::jit::Module& module, const std::vector<ChannelCut>& cuts);

}  // namespace mopt::prune
