#include "lib/train/losses.h"

#include <torch/nn/functional/loss.h>

namespace mopt::train {

torch::Tensor distillation_loss(const torch::Tensor& student_logits, const torch::Tensor& teacher_logits,
                                double temperature) {
  auto student_log_probs = torch::log_softmax(student_logits / temperature, 1);
  auto teacher_probs = torch::softmax(teacher_logits / temperature, 1);
  // sum_c p_t * (log p_t - log p_s), with 0 * log 0 = 0 (xlogy), averaged over rows.
  auto kl = (torch::xlogy(teacher_probs, teacher_probs) - teacher_probs * student_log_probs).sum(1).mean();
  return kl * (temperature * temperature);
}

torch::Tensor cross_entropy(const torch::Tensor& logits, const torch::Tensor& labels) {
  return torch::nn::functional::cross_entropy(logits, labels);
}

}  // namespace mopt::train
