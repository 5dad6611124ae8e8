#include "lib/train/losses.h"

#include <torch/nn/functional/loss.h>

#include "lib/errors.h"

namespace mopt::train {
namespace {

// sum_c p * (log p - log q) per row with 0 * log 0 = 0 (xlogy), averaged over rows.
torch::Tensor mean_kl(const torch::Tensor& p, const torch::Tensor& log_q) {
  return (torch::xlogy(p, p) - p * log_q).sum(1).mean();
}

torch::Tensor standardized(const torch::Tensor& logits) {
  // The paper's code divides by the unbiased std plus 1e-7 (all-equal logits stay finite).
  return (logits - logits.mean(1, true)) / (logits.std(1, /*unbiased=*/true, /*keepdim=*/true) + 1e-7);
}

}  // namespace

KdLoss parse_kd_loss(const std::string& name) {
  if (name == "vanilla") return KdLoss::kVanilla;
  if (name == "ls") return KdLoss::kLogitStandardized;
  if (name == "dkd") return KdLoss::kDecoupled;
  throw usage_error("--loss must be vanilla, ls (logit-standardized) or dkd (decoupled), not '" + name + "'");
}

std::string kd_loss_name(KdLoss loss) {
  switch (loss) {
    case KdLoss::kVanilla: return "vanilla";
    case KdLoss::kLogitStandardized: return "ls";
    case KdLoss::kDecoupled: return "dkd";
  }
  return "vanilla";
}

torch::Tensor distillation_loss(const torch::Tensor& student_logits, const torch::Tensor& teacher_logits,
                                double temperature) {
  auto student_log_probs = torch::log_softmax(student_logits / temperature, 1);
  auto teacher_probs = torch::softmax(teacher_logits / temperature, 1);
  return mean_kl(teacher_probs, student_log_probs) * (temperature * temperature);
}

torch::Tensor logit_standardized_loss(const torch::Tensor& student_logits, const torch::Tensor& teacher_logits,
                                      double temperature) {
  return distillation_loss(standardized(student_logits), standardized(teacher_logits), temperature);
}

torch::Tensor decoupled_loss(const torch::Tensor& student_logits, const torch::Tensor& teacher_logits,
                             const torch::Tensor& labels, double temperature, double beta) {
  const auto target = torch::one_hot(labels, student_logits.size(1)).to(torch::kBool);
  const auto p_student = torch::softmax(student_logits / temperature, 1);
  const auto p_teacher = torch::softmax(teacher_logits / temperature, 1);
  // TCKD: two-way distributions [p(target), 1 - p(target)].
  auto binary = [&](const torch::Tensor& p) {
    const auto p_target = (p * target).sum(1, true);
    return torch::cat({p_target, 1 - p_target}, 1);
  };
  const auto b_teacher = binary(p_teacher);
  const auto tckd = mean_kl(b_teacher, torch::log(binary(p_student).clamp_min(1e-12)));
  // NCKD: distributions over the non-target classes only (the target masked out before softmax).
  const double kMasked = 1000.0;  // the paper's masking constant: exp(-1000/T) is 0 in fp32
  const auto nc_teacher = torch::softmax(teacher_logits / temperature - kMasked * target, 1);
  const auto nc_log_student = torch::log_softmax(student_logits / temperature - kMasked * target, 1);
  const auto nckd = mean_kl(nc_teacher, nc_log_student);
  return (tckd + beta * nckd) * (temperature * temperature);
}

torch::Tensor cross_entropy(const torch::Tensor& logits, const torch::Tensor& labels) {
  return torch::nn::functional::cross_entropy(logits, labels);
}

}  // namespace mopt::train
