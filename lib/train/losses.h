#pragma once
// Training losses: cross-entropy and the soft-target distillation losses `mopt distill --loss`
// selects (vanilla KD, logit-standardized KD, decoupled KD).
#include <torch/types.h>

#include <string>
#include <vector>

namespace mopt::train {

/// Which soft-target loss a distillation run minimises.
enum class KdLoss { kVanilla, kLogitStandardized, kDecoupled };

/// "vanilla", "ls" or "dkd" -> KdLoss (usage_error otherwise).
KdLoss parse_kd_loss(const std::string& name);
/// The command-line name of `loss`.
std::string kd_loss_name(KdLoss loss);

/// Hinton, Vinyals & Dean, "Distilling the Knowledge in a Neural Network" (2015):
/// KL(softmax(teacher/T) || softmax(student/T)) * T^2, averaged over the batch. The T^2 keeps
/// the soft-target gradients on the same scale as the hard-label ones when T changes.
torch::Tensor distillation_loss(const torch::Tensor& student_logits, const torch::Tensor& teacher_logits,
                                double temperature);

/// Sun et al., "Logit Standardization in Knowledge Distillation" (CVPR 2024): vanilla KD on
/// z-scored logits ((z - mean) / std per row), so the student matches the teacher's logit
/// *relations* rather than its logit scale, which a small student may not be able to reach.
torch::Tensor logit_standardized_loss(const torch::Tensor& student_logits, const torch::Tensor& teacher_logits,
                                      double temperature);

/// Zhao et al., "Decoupled Knowledge Distillation" (CVPR 2022): KD split into the target-class
/// term (TCKD: binary KL of p(target) vs p(rest)) and the non-target term (NCKD: KL among the
/// other classes), weighted 1 and `beta`, both times T^2. Needs the labels.
torch::Tensor decoupled_loss(const torch::Tensor& student_logits, const torch::Tensor& teacher_logits,
                             const torch::Tensor& labels, double temperature, double beta);

/// Mean cross-entropy of logits [N, C] against int64 labels [N].
torch::Tensor cross_entropy(const torch::Tensor& logits, const torch::Tensor& labels);

}  // namespace mopt::train
