#include "lib/train/distillation.h"

#include <fmt/format.h>
#include <torch/nn/functional/loss.h>

#include <filesystem>

#include "lib/errors.h"
#include "lib/train/checkpoint.h"
#include "lib/train/feature_taps.h"
#include "lib/train/losses.h"
#include "lib/util/log.h"

namespace mopt::train {
namespace {

using json = nlohmann::json;
constexpr int64_t kStudentTapBase = 1000;  // teacher taps are 0..k-1, student taps 1000..1000+k-1

torch::jit::Module& mutable_module(const Model& model) { return const_cast<torch::jit::Module&>(model.torchscript()); }

torch::Tensor probe_logits(const char* who, torch::jit::Module module, const torch::Tensor& probe) {
  const bool was_training = module.is_training();
  module.eval();
  torch::NoGradGuard no_grad;
  torch::Tensor logits;
  try {
    logits = forward_tensor(module, probe);
  } catch (const Error&) {
    module.train(was_training);
    throw;
  } catch (const std::exception& e) {
    module.train(was_training);
    throw invalid_input(fmt::format("the {} cannot run on the training inputs (shape {} per sample): {}", who,
                                    fmt::join(probe.sizes().slice(1), "x"), short_torch_message(e.what())));
  }
  module.train(was_training);
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

// A learned projection from the student's feature width to the teacher's (1x1 conv for maps,
// linear for vectors), or an undefined tensor when the widths already agree.
torch::Tensor make_projection(const torch::Tensor& student_feature, const torch::Tensor& teacher_feature,
                              const std::string& pair_name) {
  const auto s = student_feature.sizes(), t = teacher_feature.sizes();
  if (s.size() != t.size() || s.size() < 2 || s.slice(2) != t.slice(2)) {
    throw usage_error(fmt::format("--feature-pair {}: shapes [{}] (teacher) and [{}] (student) differ beyond the channel "
                                  "dimension; pair layers with the same spatial size",
                                  pair_name, fmt::join(t, ", "), fmt::join(s, ", ")));
  }
  if (s[1] == t[1]) return {};
  return (torch::randn({t[1], s[1]}) * std::sqrt(1.0 / static_cast<double>(s[1]))).requires_grad_(true);
}

torch::Tensor project(const torch::Tensor& feature, const torch::Tensor& projection) {
  if (!projection.defined()) return feature;
  if (feature.dim() == 2) return torch::matmul(feature, projection.t());
  std::vector<int64_t> kernel_shape = {projection.size(0), projection.size(1)};
  kernel_shape.resize(static_cast<size_t>(feature.dim()), 1);  // 1x1 (or 1, 1x1x1) convolution
  auto kernel = projection.view(kernel_shape);
  return feature.dim() == 3 ? torch::conv1d(feature, kernel) : feature.dim() == 4 ? torch::conv2d(feature, kernel)
                                                                                  : torch::conv3d(feature, kernel);
}

// Teacher and student forward passes with feature taps; the teacher runs every batch.
struct FeatureDistillation {
  torch::jit::Module teacher;  // tapped clone, eval mode
  std::vector<torch::Tensor> projections;
  std::vector<std::string> pair_names;
};

FeatureDistillation prepare_features(const Model& teacher, torch::jit::Module& tapped_student, const Dataset& train,
                                     const DistillSettings& settings) {
  FeatureDistillation features;
  features.teacher = teacher.torchscript().clone();
  features.teacher.eval();
  std::vector<std::string> teacher_layers, student_layers;
  for (const auto& [t, s] : settings.feature_pairs) {
    teacher_layers.push_back(t);
    student_layers.push_back(s);
    features.pair_names.push_back(t + ":" + s);
  }
  insert_feature_taps(features.teacher, teacher_layers, 0);
  insert_feature_taps(tapped_student, student_layers, kStudentTapBase);
  // One probe pass gives the feature shapes the projections are sized from.
  const auto probe = train.inputs.slice(0, 0, std::min<int64_t>(2, train.size()));
  FeatureCapture capture;
  torch::NoGradGuard no_grad;
  const bool was_training = tapped_student.is_training();
  tapped_student.eval();
  forward_tensor(features.teacher, probe);
  forward_tensor(tapped_student, probe);
  tapped_student.train(was_training);
  for (size_t i = 0; i < settings.feature_pairs.size(); ++i) {
    features.projections.push_back(make_projection(capture.get(kStudentTapBase + static_cast<int64_t>(i)),
                                                   capture.get(static_cast<int64_t>(i)), features.pair_names[i]));
  }
  return features;
}

Objective feature_objective(std::shared_ptr<FeatureDistillation> features, double temperature, double alpha,
                            double feature_weight) {
  return [=](torch::jit::Module& student, const Batch& batch) {
    FeatureCapture capture;
    torch::Tensor teacher_logits;
    {
      torch::NoGradGuard no_grad;
      teacher_logits = forward_tensor(features->teacher, batch.inputs);
    }
    auto logits = forward_tensor(student, batch.inputs);
    auto kd = distillation_loss(logits, teacher_logits, temperature);
    auto total = batch.labels.defined() ? alpha * kd + (1 - alpha) * cross_entropy(logits, batch.labels) : kd;
    auto feature_loss = torch::zeros({});
    for (size_t i = 0; i < features->projections.size(); ++i) {
      auto target = capture.get(static_cast<int64_t>(i)).detach();
      auto mine = project(capture.get(kStudentTapBase + static_cast<int64_t>(i)), features->projections[i]);
      feature_loss = feature_loss + torch::mse_loss(mine, target);
    }
    LossTerms terms = {{"total", total + feature_weight * feature_loss}, {"kd", kd.detach()}, {"feature", feature_loss.detach()}};
    if (batch.labels.defined()) terms.push_back({"ce", cross_entropy(logits, batch.labels).detach()});
    return terms;
  };
}

StudentRun train_student(torch::jit::Module student, const std::vector<torch::Tensor>& extras, const Dataset& train,
                         const Dataset& val, const TrainConfig& config, const Objective& objective) {
  StudentRun run{student, train_model(student, extras, train, val, config, objective), -1};
  if (val.has_labels()) run.val_accuracy = evaluate_classifier(student, val, config.eval_batch_size).first;
  student.eval();
  return run;
}

std::filesystem::path with_suffix(const std::filesystem::path& path, const std::string& suffix) {
  return path.empty() ? path : std::filesystem::path(path.string() + suffix);
}

}  // namespace

json DistillOutcome::to_json() const {
  json j = {{"teacher", {{"val_accuracy", teacher_val_accuracy}}},
            {"student", {{"val_accuracy_before", student_val_accuracy_before},
                         {"val_accuracy_after", distilled.val_accuracy}}},
            {"training", distilled.result.to_json()}};
  if (baseline) {
    j["baseline_ce"] = {{"val_accuracy", baseline->val_accuracy}, {"training", baseline->result.to_json()}};
    j["gain_over_baseline_points"] = 100 * (distilled.val_accuracy - baseline->val_accuracy);
  }
  return j;
}

torch::Tensor teacher_logits_for(const Model& teacher, const torch::Tensor& inputs, int64_t batch_size) {
  auto module = mutable_module(teacher);
  const bool was_training = module.is_training();
  module.eval();
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> parts;
  for (int64_t b = 0; b < batch_count(inputs.size(0), batch_size); ++b) {
    parts.push_back(forward_tensor(module, batch_slice(inputs, b, batch_size)));
  }
  module.train(was_training);
  return torch::cat(parts, 0);
}

Objective distillation_objective(torch::Tensor teacher_logits, double temperature, double alpha) {
  return [=](torch::jit::Module& student, const Batch& batch) {
    auto logits = forward_tensor(student, batch.inputs);
    auto kd = distillation_loss(logits, teacher_logits.index_select(0, batch.indices), temperature);
    if (!batch.labels.defined()) return LossTerms{{"total", kd}, {"kd", kd.detach()}};
    auto ce = cross_entropy(logits, batch.labels);
    return LossTerms{{"total", alpha * kd + (1 - alpha) * ce}, {"kd", kd.detach()}, {"ce", ce.detach()}};
  };
}

Objective cross_entropy_objective() {
  return [](torch::jit::Module& model, const Batch& batch) {
    auto ce = cross_entropy(forward_tensor(model, batch.inputs), batch.labels);
    return LossTerms{{"total", ce}, {"ce", ce.detach()}};
  };
}

int64_t check_distillation_inputs(const Model& teacher, const torch::jit::Module& student, const Dataset& train,
                                  const Dataset& val) {
  if (train.size() == 0) throw invalid_input("the training set is empty");
  if (val.size() > 0 && !val.has_labels()) throw invalid_input("the validation data has no labels (give --val-labels)");
  if (student.parameters().size() == 0) {
    throw invalid_input("the student has no trainable parameters (a frozen model cannot be trained; pass the unfrozen one)");
  }
  const auto probe = train.inputs.slice(0, 0, std::min<int64_t>(2, train.size()));
  const auto teacher_logits = probe_logits("teacher", mutable_module(teacher), probe);
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

DistillOutcome distill(const Model& teacher, const torch::jit::Module& student, const Dataset& train,
                       const Dataset& val, const DistillSettings& settings) {
  if (!(settings.temperature > 0)) throw usage_error("--temperature must be > 0");
  if (!(settings.alpha >= 0 && settings.alpha <= 1)) throw usage_error("--alpha must be in [0, 1]");
  if (settings.baseline_ce && !train.has_labels()) throw usage_error("--baseline-ce needs labelled training data");
  validate_config(settings.train);
  check_distillation_inputs(teacher, student, train, val);

  DistillOutcome outcome;
  const auto initial = student.clone();  // the baseline starts from exactly these weights
  if (val.has_labels()) {
    outcome.teacher_val_accuracy = evaluate_classifier(mutable_module(teacher), val, settings.train.eval_batch_size).first;
    auto probe = initial.clone();
    outcome.student_val_accuracy_before = evaluate_classifier(probe, val, settings.train.eval_batch_size).first;
    log_info("teacher val accuracy {:.2f}%, student before training {:.2f}%", 100 * outcome.teacher_val_accuracy,
             100 * outcome.student_val_accuracy_before);
  }

  TrainConfig config = settings.train;
  config.label = "distill";
  auto trained = initial.clone();
  if (settings.feature_pairs.empty()) {
    log_info("computing teacher logits for {} training samples", train.size());
    auto objective = distillation_objective(teacher_logits_for(teacher, train.inputs, config.eval_batch_size),
                                            settings.temperature, settings.alpha);
    outcome.distilled = train_student(trained, {}, train, val, config, objective);
  } else {
    // Taps live in an inlined training copy; the weights go back into the clean student.
    auto tapped = trained.clone();
    auto features = std::make_shared<FeatureDistillation>(prepare_features(teacher, tapped, train, settings));
    auto run = train_student(tapped, features->projections, train, val, config,
                             feature_objective(features, settings.temperature, settings.alpha, settings.feature_weight));
    restore_weights(trained, snapshot_weights(tapped));
    trained.eval();
    outcome.distilled = {trained, run.result, run.val_accuracy};
  }

  if (settings.baseline_ce) {
    TrainConfig baseline_config = settings.train;
    baseline_config.label = "baseline-ce";
    baseline_config.checkpoint_path = with_suffix(settings.train.checkpoint_path, ".baseline");
    const auto resume = with_suffix(settings.train.resume_path, ".baseline");
    baseline_config.resume_path = !resume.empty() && std::filesystem::exists(resume) ? resume : std::filesystem::path();
    outcome.baseline = train_student(initial.clone(), {}, train, val, baseline_config, cross_entropy_objective());
  }
  return outcome;
}

}  // namespace mopt::train
