#pragma once
// Batch augmentation for image training (distill --augment): random shifts, horizontal flips and
// mixup, drawn from (seed, step) so a resumed run sees exactly the batches it would have seen.
#include <torch/types.h>

#include <string>

#include <nlohmann/json.hpp>

namespace mopt::train {

struct AugmentSpec {
  bool shift = false;      ///< random translation by up to max_shift pixels (edges filled with the image's minimum)
  int64_t max_shift = 2;
  bool flip = false;       ///< horizontal flip with probability 1/2
  double mixup_alpha = 0;  ///< mixup with lambda ~ Beta(a, a) (kept >= 0.5); 0 = off
  bool any() const { return shift || flip || mixup_alpha > 0; }
  /// e.g. "shift(2)+flip+mixup(0.2)", or "none".
  std::string describe() const;
  nlohmann::json to_json() const;
};

/// "shift,flip" (any of shift, flip; "none" for nothing) -> spec (usage_error otherwise).
AugmentSpec parse_augment(const std::string& list, int64_t max_shift, double mixup_alpha);

/// One augmented batch: with mixup, inputs = lambda * x + (1 - lambda) * x[partner].
struct AugmentedInputs {
  torch::Tensor inputs;
  torch::Tensor partner;  ///< row of the mixup partner of each row; undefined without mixup
  double lambda = 1;
};

/// Augments image batches [N, C, H, W] (other ranks pass through unchanged: nothing to shift).
/// Draws depend on (seed, step, shard): a data-parallel rank's share gets its own draws.
AugmentedInputs augment_batch(const torch::Tensor& inputs, const AugmentSpec& spec, uint64_t seed, int64_t step,
                              int64_t shard = 0);

}  // namespace mopt::train
