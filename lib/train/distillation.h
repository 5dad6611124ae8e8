#pragma once
// Knowledge distillation: train a student TorchScript model against a teacher's soft targets
// (Hinton et al.), optionally matching intermediate features, with the shared training loop.
#include <torch/script.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lib/data/dataset.h"
#include "lib/model/model.h"
#include "lib/train/trainer.h"

namespace mopt::train {

struct DistillSettings {
  double temperature = 3;
  double alpha = 0.7;  ///< weight of the soft-target loss; 1 - alpha weighs cross-entropy on labels
  std::vector<std::pair<std::string, std::string>> feature_pairs;  ///< (teacher layer, student layer)
  double feature_weight = 1.0;  ///< weight of each feature-matching MSE term
  TrainConfig train;
  bool baseline_ce = false;  ///< also train the same initial student on labels only, same budget
};

/// One training run's result: the trained student and how it got there.
struct StudentRun {
  torch::jit::Module student;
  TrainResult result;
  double val_accuracy = -1;  ///< of the returned (best) weights
};

struct DistillOutcome {
  double teacher_val_accuracy = -1;
  double student_val_accuracy_before = -1;
  StudentRun distilled;
  std::optional<StudentRun> baseline;  ///< with DistillSettings::baseline_ce
  nlohmann::json to_json() const;
};

/// Checks, before any training, that the teacher and the student both run on the training
/// inputs, produce logits of the same width, and that labels are valid class ids
/// (invalid_input otherwise); returns the number of classes.
int64_t check_distillation_inputs(const Model& teacher, const torch::jit::Module& student, const Dataset& train,
                                  const Dataset& val);

/// Distills `teacher` into a copy of `student` (the input is left as it is).
DistillOutcome distill(const Model& teacher, const torch::jit::Module& student, const Dataset& train,
                       const Dataset& val, const DistillSettings& settings);

/// The soft-target loss function for a training run (used by prune's fine-tuning too):
/// teacher logits precomputed for every training row, indexed by Batch::indices.
Objective distillation_objective(torch::Tensor teacher_logits, double temperature, double alpha);

/// usage_error unless temperature > 0 and 0 <= alpha <= 1.
void validate_soft_targets(double temperature, double alpha);

/// Cross-entropy on labels only.
Objective cross_entropy_objective();

/// The teacher's logits for every row of `inputs`, computed once in eval mode.
torch::Tensor teacher_logits_for(const Model& teacher, const torch::Tensor& inputs, int64_t batch_size);

}  // namespace mopt::train
