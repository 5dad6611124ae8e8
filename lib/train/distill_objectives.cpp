#include "lib/train/distill_objectives.h"

#include <fmt/format.h>

#include "lib/errors.h"

namespace mopt::train {
namespace {

torch::Tensor soft_target_loss(const torch::Tensor& logits, const torch::Tensor& teacher_logits,
                               const torch::Tensor& labels, const SoftTargets& soft) {
  switch (soft.loss) {
    case KdLoss::kVanilla: return distillation_loss(logits, teacher_logits, soft.temperature);
    case KdLoss::kLogitStandardized: return logit_standardized_loss(logits, teacher_logits, soft.temperature);
    case KdLoss::kDecoupled:
      if (!labels.defined()) throw usage_error("--loss dkd splits off the target class: it needs labelled training data");
      return decoupled_loss(logits, teacher_logits, labels, soft.temperature, soft.dkd_beta);
  }
  return distillation_loss(logits, teacher_logits, soft.temperature);
}

// Losses are computed in fp32 even under autocast: CPU autocast leaves log_softmax in fp16.
torch::Tensor in_float32(const torch::Tensor& logits) { return logits.to(torch::kFloat); }

// Cross-entropy against the labels of a (possibly mixed) batch; the labels move to the logits' device.
torch::Tensor label_loss(const torch::Tensor& low_precision_logits, const torch::Tensor& host_labels,
                         const torch::Tensor& partner, double lambda) {
  const auto logits = in_float32(low_precision_logits);
  const auto labels = host_labels.to(logits.device());
  auto ce = cross_entropy(logits, labels);
  if (!partner.defined()) return ce;
  return lambda * ce + (1 - lambda) * cross_entropy(logits, labels.index_select(0, partner.to(logits.device())));
}

}  // namespace

std::string SoftTargets::describe() const {
  auto text = fmt::format("{} T={:g} a={:g}", kd_loss_name(loss), temperature, alpha);
  if (loss == KdLoss::kDecoupled) text += fmt::format(" b={:g}", dkd_beta);
  return text;
}

nlohmann::json SoftTargets::to_json() const {
  nlohmann::json j = {{"loss", kd_loss_name(loss)}, {"temperature", temperature}, {"alpha", alpha}};
  if (loss == KdLoss::kDecoupled) j["dkd_beta"] = dkd_beta;
  return j;
}

void validate_soft_targets(const SoftTargets& soft) {
  if (!(soft.temperature > 0)) throw usage_error("--temperature must be > 0");
  if (!(soft.alpha >= 0 && soft.alpha <= 1)) throw usage_error("--alpha must be in [0, 1]");
  if (!(soft.dkd_beta >= 0)) throw usage_error("--dkd-beta must be >= 0");
}

LossTerms soft_target_terms(const torch::Tensor& student_logits, const torch::Tensor& teacher_logits,
                            const torch::Tensor& labels, const SoftTargets& soft, const torch::Tensor& partner,
                            double lambda) {
  const auto logits = in_float32(student_logits);
  const auto device = logits.device();
  auto kd = soft_target_loss(logits, in_float32(teacher_logits).to(device), labels.defined() ? labels.to(device) : labels,
                             soft);
  if (!labels.defined()) return {{"total", kd}, {"kd", kd.detach()}};
  auto ce = label_loss(logits, labels, partner, lambda);
  return {{"total", soft.alpha * kd + (1 - soft.alpha) * ce}, {"kd", kd.detach()}, {"ce", ce.detach()}};
}

namespace {

// A batch's inputs as the model sees them: augmented for a single-input (image) model; several
// inputs pass unchanged (distill refuses augmentation for them).
struct AugmentedBatch {
  std::vector<torch::Tensor> inputs;
  torch::Tensor partner;  ///< see AugmentedInputs
  double lambda = 1;
};

AugmentedBatch augmented(const Batch& batch, const AugmentSpec& augment, uint64_t seed) {
  if (batch.inputs.size() != 1) return {batch.inputs, {}, 1};
  auto one = augment_batch(batch.inputs.front(), augment, seed, batch.step, batch.shard);
  return {{one.inputs}, one.partner, one.lambda};
}

}  // namespace

Objective distillation_objective(torch::Tensor teacher_logits, const SoftTargets& soft) {
  validate_soft_targets(soft);
  return [=](torch::jit::Module& student, const Batch& batch) {
    return soft_target_terms(forward_tensor(student, batch.inputs), teacher_logits.index_select(0, batch.indices),
                             batch.labels, soft);
  };
}

Objective live_teacher_objective(torch::jit::Module teacher, const SoftTargets& soft, const AugmentSpec& augment,
                                 uint64_t seed) {
  validate_soft_targets(soft);
  teacher.eval();
  return [=](torch::jit::Module& student, const Batch& batch) mutable {
    const auto input = augmented(batch, augment, seed);
    torch::Tensor teacher_logits;
    {
      c10::InferenceMode inference;
      teacher_logits = forward_tensor(teacher, input.inputs);
    }
    // Inference tensors cannot enter autograd: a plain copy can.
    teacher_logits = teacher_logits.clone();
    return soft_target_terms(forward_tensor(student, input.inputs), teacher_logits, batch.labels, soft, input.partner,
                             input.lambda);
  };
}

Objective cross_entropy_objective(const AugmentSpec& augment, uint64_t seed) {
  return [=](torch::jit::Module& model, const Batch& batch) {
    const auto input = augmented(batch, augment, seed);
    auto ce = label_loss(forward_tensor(model, input.inputs), batch.labels, input.partner, input.lambda);
    return LossTerms{{"total", ce}, {"ce", ce.detach()}};
  };
}

torch::Tensor teacher_logits_for(torch::jit::Module teacher, const Dataset& data, int64_t batch_size) {
  EvalModeGuard eval_mode(teacher);
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> parts;
  for (int64_t b = 0; b < batch_count(data.size(), batch_size); ++b) {
    parts.push_back(forward_tensor(teacher, batch_inputs_at(data, b, batch_size)));
  }
  return torch::cat(parts, 0).to(c10::kCPU);  // indexed by host row numbers, moved per batch
}

torch::Tensor teacher_logits_for(const torch::jit::Module& teacher, const Dataset& train, const TrainConfig& config) {
  const auto& dp = config.data_parallel;
  if (!dp) return teacher_logits_for(teacher, train, config.eval_batch_size);
  const auto [begin, end] = dp->shard(train.size());
  auto share = train.rows(torch::arange(begin, end, torch::kLong));
  return dp->gather_rows(teacher_logits_for(teacher, share, config.eval_batch_size), train.size());
}

namespace {

torch::Tensor probe_logits(const char* who, torch::jit::Module module, const std::vector<torch::Tensor>& probe) {
  EvalModeGuard eval_mode(module);
  torch::NoGradGuard no_grad;
  torch::Tensor logits;
  try {
    logits = forward_tensor(module, probe);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    std::vector<std::string> shapes;
    for (const auto& input : probe) shapes.push_back(fmt::format("{}", fmt::join(input.sizes().slice(1), "x")));
    throw invalid_input(fmt::format("the {} cannot run on the training inputs (shape {} per sample): {}", who,
                                    fmt::join(shapes, " and "), short_torch_message(e.what())));
  }
  if (logits.dim() != 2) {
    throw invalid_input(fmt::format("the {} returns shape [{}]; distillation needs class logits [batch, classes]", who,
                                    fmt::join(logits.sizes(), ", ")));
  }
  return logits;
}

void check_labels(const Dataset& data, int64_t classes, const char* which) {
  if (!data.has_labels() || data.size() == 0) return;
  const auto top = data.labels.max().item<int64_t>();
  if (top >= classes) {
    throw invalid_input(fmt::format("{} labels go up to {} but the models have {} outputs (class ids 0..{})", which, top,
                                    classes, classes - 1));
  }
}

}  // namespace

int64_t check_distillation_inputs(const Model& teacher, const torch::jit::Module& student, const Dataset& train,
                                  const Dataset& val) {
  if (train.size() == 0) throw invalid_input("the training set is empty");
  if (val.size() > 0 && !val.has_labels()) throw invalid_input("the validation data has no labels (give --val-labels)");
  if (student.parameters().size() == 0) {
    throw invalid_input("the student has no trainable parameters (a frozen model cannot be trained; pass the unfrozen one)");
  }
  const auto probe = train.input_rows(0, std::min<int64_t>(2, train.size()));
  const auto teacher_logits = probe_logits("teacher", teacher.torchscript(), probe);
  const auto student_logits = probe_logits("student", student, probe);
  const int64_t classes = teacher_logits.size(1);
  if (student_logits.size(1) != classes) {
    throw invalid_input(fmt::format("the teacher has {} outputs and the student {}; they must predict the same classes",
                                    classes, student_logits.size(1)));
  }
  check_labels(train, classes, "training");
  check_labels(val, classes, "validation");
  return classes;
}

}  // namespace mopt::train
