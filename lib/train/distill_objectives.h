#pragma once
// What a distillation run minimises: the soft-target loss (vanilla, logit-standardized or
// decoupled KD) mixed with label cross-entropy, against cached teacher logits or, with
// augmentation, a teacher run on the same augmented batch every step.
#include <torch/script.h>

#include <string>

#include <nlohmann/json.hpp>

#include "lib/model/model.h"
#include "lib/train/augment.h"
#include "lib/train/losses.h"
#include "lib/train/trainer.h"

namespace mopt::train {

/// The soft-target part of an objective: alpha * loss(T) + (1 - alpha) * CE(labels).
struct SoftTargets {
  KdLoss loss = KdLoss::kVanilla;
  double temperature = 3;
  double alpha = 0.7;    ///< weight of the soft-target loss; 1 - alpha weighs cross-entropy on labels
  double dkd_beta = 8;   ///< weight of DKD's non-target term (the paper's default)
  /// e.g. "dkd T=4 a=0.5 b=8".
  std::string describe() const;
  nlohmann::json to_json() const;
};

/// usage_error unless temperature > 0, 0 <= alpha <= 1 and dkd_beta >= 0.
void validate_soft_targets(const SoftTargets& soft);

/// The soft-target loss against teacher logits precomputed for every training row (indexed by
/// Batch::indices). Used when the inputs do not change between epochs (no augmentation).
Objective distillation_objective(torch::Tensor teacher_logits, const SoftTargets& soft);

/// The soft-target loss against the teacher run (in inference mode, batched) on the same
/// augmented batch as the student each step: consistent teaching.
Objective live_teacher_objective(torch::jit::Module teacher, const SoftTargets& soft, const AugmentSpec& augment,
                                 uint64_t seed);

/// Cross-entropy on labels only, on the same augmented batches a distilled run would see.
Objective cross_entropy_objective(const AugmentSpec& augment = {}, uint64_t seed = 0);

/// The soft-target terms for one batch ("total" first, then "kd" and "ce" for reporting).
/// `partner`/`lambda` describe mixup (undefined partner: none); CE then mixes the two labels.
LossTerms soft_target_terms(const torch::Tensor& logits, const torch::Tensor& teacher_logits, const torch::Tensor& labels,
                            const SoftTargets& soft, const torch::Tensor& partner = {}, double lambda = 1);

/// The teacher's logits for every row of `data`, computed once in eval mode.
torch::Tensor teacher_logits_for(torch::jit::Module teacher, const Dataset& data, int64_t batch_size);

/// The teacher's logits for every training row; the ranks of a data-parallel run each compute
/// their share and exchange them.
torch::Tensor teacher_logits_for(const torch::jit::Module& teacher, const Dataset& train, const TrainConfig& config);

/// Checks, before any training, that the teacher and the student both run on the training
/// inputs, produce logits of the same width, and that labels are valid class ids
/// (invalid_input otherwise); returns the number of classes.
int64_t check_distillation_inputs(const Model& teacher, const torch::jit::Module& student, const Dataset& train,
                                  const Dataset& val);

}  // namespace mopt::train
