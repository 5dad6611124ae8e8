#pragma once
// Training losses: cross-entropy and Hinton et al.'s soft-target distillation loss.
#include <torch/types.h>

namespace mopt::train {

/// KL(softmax(teacher/T) || softmax(student/T)) * T^2, averaged over the batch. The T^2 keeps
/// the soft-target gradients on the same scale as the hard-label ones when T changes.
torch::Tensor distillation_loss(const torch::Tensor& student_logits, const torch::Tensor& teacher_logits,
                                double temperature);

/// Mean cross-entropy of logits [N, C] against int64 labels [N].
torch::Tensor cross_entropy(const torch::Tensor& logits, const torch::Tensor& labels);

}  // namespace mopt::train
