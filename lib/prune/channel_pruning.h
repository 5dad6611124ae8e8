#pragma once
// Structured channel pruning: removes whole output channels of Conv/Linear layers, and with them
// everything that depends on those channels (biases, batch norms, the next layers' inputs), so the
// model gets physically smaller and faster on any backend.
#include <torch/script.h>

#include <cstdint>
#include <string>
#include <vector>

#include "lib/prune/layer_selection.h"

namespace mopt::prune {

/// What to prune and how channels are ranked.
struct ChannelPruneOptions {
  double amount = 0.0;  ///< fraction of each group's channels to remove, 0 < amount < 1
  int norm = 1;         ///< filter norm that ranks channels: 1 = L1, 2 = L2
  LayerSelection selection;
  int64_t round_to = 1;  ///< kept counts are rounded to a multiple of this (round_kept_channels); 1 = off
};

/// Output channels that must be pruned together (e.g. every conv feeding one residual sum).
struct ChannelGroup {
  std::vector<std::string> producers;  ///< convs/linears whose output channels are tied
  int64_t channels_before = 0;
  int64_t channels_requested = 0;  ///< what the amount asks to keep, before rounding to round_to
  int64_t channels_after = 0;
  /// More kept than the rounding gave, so a convolution reading the channels stays on LibTorch's
  /// oneDNN path at batch 1 (see slow_convolutions.h); only when rounding is on.
  bool raised_for_onednn = false;
  std::string skipped_reason;  ///< empty when pruned
};

/// One module whose tensors changed shape.
struct LayerChange {
  std::string layer;
  std::vector<int64_t> shape_before, shape_after;  ///< of the weight (running_mean for an affine-less BN)
  int64_t params_before = 0, params_after = 0;     ///< the module's own parameters
};

/// What prune_channels did.
struct ChannelPruneResult {
  std::vector<ChannelGroup> groups;  ///< every group found, in graph order
  std::vector<LayerChange> layers;   ///< every module whose tensors changed, incl. BN, in module order
};

/// Prunes the lowest-norm output channels of every prunable channel group of `module` and slices
/// all dependent tensors. Groups are found by following channels through the inlined forward
/// graph; a group whose channels reach the model output, an unsupported op (aten::cat, control
/// flow, ...) or a grouped conv is left whole with a reason, as is a group with a producer outside
/// `options.selection`. Each pruned group keeps ceil((1 - amount) * C) channels (>= 1), rounded to a
/// multiple of `options.round_to` by round_kept_channels (a group the rounding would keep whole is
/// left whole, with the reason) and, when rounding is on, raised where a convolution reading the
/// channels would otherwise fall to LibTorch's slow path at batch 1 on `examples`; channels are
/// ranked by the sum over the group's producers of the filters' L1/L2 norms. The work happens on a deep
/// copy that then replaces `module` (new TorchScript types; handles to the old submodules keep the
/// unpruned model), so a failure leaves `module` untouched. Parameters stay leaf parameters with requires_grad and
/// buffers stay buffers, so the result trains; training flags are kept. `examples` (one per
/// forward() input) run before and after: usage_error for bad options, invalid_input when the model
/// does not run on them, runtime_failure if the pruned model fails or changes its output shape (a bug).
ChannelPruneResult prune_channels(torch::jit::Module& module, const ChannelPruneOptions& options,
                                  const std::vector<torch::Tensor>& examples);

}  // namespace mopt::prune
