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

// A handle to the model's module: handles share the module, and running one is not const.
torch::jit::Module module_of(const Model& model) { return model.torchscript(); }

torch::Tensor probe_logits(const char* who, torch::jit::Module module, const torch::Tensor& probe) {
  EvalModeGuard eval_mode(module);
  torch::NoGradGuard no_grad;
  torch::Tensor logits;
  try {
    logits = forward_tensor(module, probe);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw invalid_input(fmt::format("the {} cannot run on the training inputs (shape {} per sample): {}", who,
                                    fmt::join(probe.sizes().slice(1), "x"), short_torch_message(e.what())));
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

// A learned projection from the student's feature width to the teacher's (1x1 conv for maps,
// linear for vectors), or an undefined tensor when the widths already agree (nothing to learn).
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
  features.teacher = clone_module(teacher.torchscript());
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
  {
    EvalModeGuard eval_mode(tapped_student);
    forward_tensor(features.teacher, probe);
    forward_tensor(tapped_student, probe);
  }
  for (size_t i = 0; i < settings.feature_pairs.size(); ++i) {
    features.projections.push_back(make_projection(capture.get(kStudentTapBase + static_cast<int64_t>(i)),
                                                   capture.get(static_cast<int64_t>(i)), features.pair_names[i]));
  }
  return features;
}

// alpha * KD + (1 - alpha) * CE when there are labels, else KD alone; the parts for reporting.
LossTerms soft_target_terms(const torch::Tensor& logits, const torch::Tensor& teacher_logits, const torch::Tensor& labels,
                            double temperature, double alpha) {
  auto kd = distillation_loss(logits, teacher_logits, temperature);
  if (!labels.defined()) return {{"total", kd}, {"kd", kd.detach()}};
  auto ce = cross_entropy(logits, labels);
  return {{"total", alpha * kd + (1 - alpha) * ce}, {"kd", kd.detach()}, {"ce", ce.detach()}};
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
    auto terms = soft_target_terms(forward_tensor(student, batch.inputs), teacher_logits, batch.labels, temperature, alpha);
    auto feature_loss = torch::zeros({});
    for (size_t i = 0; i < features->projections.size(); ++i) {
      auto target = capture.get(static_cast<int64_t>(i)).detach();
      auto mine = project(capture.get(kStudentTapBase + static_cast<int64_t>(i)), features->projections[i]);
      feature_loss = feature_loss + torch::mse_loss(mine, target);
    }
    terms.front().second = terms.front().second + feature_weight * feature_loss;
    terms.push_back({"feature", feature_loss.detach()});
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
  auto module = module_of(teacher);
  EvalModeGuard eval_mode(module);
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> parts;
  for (int64_t b = 0; b < batch_count(inputs.size(0), batch_size); ++b) {
    parts.push_back(forward_tensor(module, batch_slice(inputs, b, batch_size)));
  }
  return torch::cat(parts, 0);
}

void validate_soft_targets(double temperature, double alpha) {
  if (!(temperature > 0)) throw usage_error("--temperature must be > 0");
  if (!(alpha >= 0 && alpha <= 1)) throw usage_error("--alpha must be in [0, 1]");
}

Objective distillation_objective(torch::Tensor teacher_logits, double temperature, double alpha) {
  validate_soft_targets(temperature, alpha);
  return [=](torch::jit::Module& student, const Batch& batch) {
    return soft_target_terms(forward_tensor(student, batch.inputs), teacher_logits.index_select(0, batch.indices),
                             batch.labels, temperature, alpha);
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
  const auto teacher_logits = probe_logits("teacher", module_of(teacher), probe);
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
  validate_soft_targets(settings.temperature, settings.alpha);
  if (settings.baseline_ce && !train.has_labels()) throw usage_error("--baseline-ce needs labelled training data");
  if (settings.baseline_ce && !val.has_labels()) throw usage_error("--baseline-ce compares accuracies: give --val data with labels");
  validate_config(settings.train);
  check_distillation_inputs(teacher, student, train, val);

  DistillOutcome outcome;
  const auto initial = clone_module(student);  // the baseline starts from exactly these weights
  if (val.has_labels()) {
    auto teacher_module = module_of(teacher);
    outcome.teacher_val_accuracy = evaluate_classifier(teacher_module, val, settings.train.eval_batch_size).first;
    auto probe = clone_module(initial);
    outcome.student_val_accuracy_before = evaluate_classifier(probe, val, settings.train.eval_batch_size).first;
    log_info("teacher val accuracy {:.2f}%, student before training {:.2f}%", 100 * outcome.teacher_val_accuracy,
             100 * outcome.student_val_accuracy_before);
  }

  TrainConfig config = settings.train;
  config.label = "distill";
  config.fingerprint = {{"temperature", settings.temperature}, {"alpha", settings.alpha},
                        {"feature_pairs", settings.feature_pairs}, {"feature_weight", settings.feature_weight}};
  auto trained = clone_module(initial);
  if (settings.feature_pairs.empty()) {
    log_info("computing teacher logits for {} training samples", train.size());
    auto objective = distillation_objective(teacher_logits_for(teacher, train.inputs, config.eval_batch_size),
                                            settings.temperature, settings.alpha);
    outcome.distilled = train_student(trained, {}, train, val, config, objective);
  } else {
    // Taps live in an inlined training copy; the weights go back into the clean student.
    auto tapped = clone_module(trained);
    torch::manual_seed(settings.train.seed);  // the projections start from the seed
    auto features = std::make_shared<FeatureDistillation>(prepare_features(teacher, tapped, train, settings));
    std::vector<torch::Tensor> learned;  // equal widths need no projection, so nothing to train there
    for (const auto& p : features->projections) {
      if (p.defined()) learned.push_back(p);
    }
    auto run = train_student(tapped, learned, train, val, config,
                             feature_objective(features, settings.temperature, settings.alpha, settings.feature_weight));
    restore_weights(trained, snapshot_weights(tapped));
    trained.eval();
    outcome.distilled = {trained, run.result, run.val_accuracy};
  }

  if (settings.baseline_ce) {
    TrainConfig baseline_config = settings.train;
    baseline_config.label = "baseline-ce";
    baseline_config.checkpoint_path = with_suffix(settings.train.checkpoint_path, ".baseline");
    baseline_config.resume_hint = settings.train.checkpoint_path;  // --resume takes the main checkpoint
    const auto resume = with_suffix(settings.train.resume_path, ".baseline");
    baseline_config.resume_path = !resume.empty() && std::filesystem::exists(resume) ? resume : std::filesystem::path();
    outcome.baseline = train_student(clone_module(initial), {}, train, val, baseline_config, cross_entropy_objective());
  }
  return outcome;
}

}  // namespace mopt::train
