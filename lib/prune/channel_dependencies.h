#pragma once
// Which tensors must lose the same channels together. Internal to channel pruning; exposed for tests
// and for `prune_channels`.
#include <torch/script.h>

#include <string>
#include <vector>

namespace mopt::prune {

/// A Conv/Linear reading a group's channels on its input side (weight dim 1).
struct ChannelConsumer {
  std::string layer;
  /// Reached through flatten(start_dim = channel dim): each channel is a block of in_features / C
  /// consecutive input features (row-major, channel outermost).
  bool flattened = false;
};

/// One set of channels that must be pruned with the same indices everywhere.
struct ChannelDependencies {
  std::vector<std::string> producers;      ///< groups == 1 Conv / Linear whose outputs are the channels
  std::vector<std::string> depthwise;      ///< depthwise convs carrying the channels through (dim 0)
  std::vector<std::string> batch_norms;    ///< batch norms over the channels
  std::vector<ChannelConsumer> consumers;  ///< layers whose input dim 1 follows the channels
  std::vector<std::string> reasons;        ///< why the group must stay whole; empty = prunable
};

/// Follows channels through the module's forward graph (see channel_dependencies.cpp for the
/// rules). `input_rank` is the rank of the example input fed to forward. Groups come in graph order.
std::vector<ChannelDependencies> analyze_channel_dependencies(const torch::jit::Module& module, int64_t input_rank);

}  // namespace mopt::prune
