#include "lib/distill/distill_workflow.h"

#include <fmt/format.h>
#include <torch/nn/functional/loss.h>

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>

#include "lib/errors.h"
#include "lib/eval/model_comparison.h"
#include "lib/eval/on_device.h"
#include "lib/onnx/export/onnx_exporter.h"
#include "lib/train/checkpoint.h"
#include "lib/train/feature_taps.h"
#include "lib/util/log.h"

namespace mopt::train {
namespace {

using json = nlohmann::json;
constexpr int64_t kStudentTapBase = 1000;  // teacher taps are 0..k-1, student taps 1000..1000+k-1

// A handle to the model's module: handles share the module, and running one is not const.
torch::jit::Module module_of(const Model& model) { return model.torchscript(); }

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
  // Drawn on the CPU, so a seed gives the same start on every device.
  return (torch::randn({t[1], s[1]}) * std::sqrt(1.0 / static_cast<double>(s[1])))
      .to(student_feature.device())
      .requires_grad_(true);
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
                                     const DistillRequest& settings) {
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
  const auto probe = train.input_rows(0, std::min<int64_t>(2, train.size()));
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

Objective feature_objective(std::shared_ptr<FeatureDistillation> features, const SoftTargets& soft,
                            double feature_weight) {
  return [=](torch::jit::Module& student, const Batch& batch) {
    FeatureCapture capture;
    torch::Tensor teacher_logits;
    {
      torch::NoGradGuard no_grad;
      teacher_logits = forward_tensor(features->teacher, batch.inputs);
    }
    auto terms = soft_target_terms(forward_tensor(student, batch.inputs), teacher_logits, batch.labels, soft);
    auto feature_loss = torch::zeros({});
    for (size_t i = 0; i < features->projections.size(); ++i) {
      auto target = capture.get(static_cast<int64_t>(i)).detach();
      auto mine = project(capture.get(kStudentTapBase + static_cast<int64_t>(i)), features->projections[i]);
      feature_loss = feature_loss + torch::mse_loss(mine.to(torch::kFloat), target.to(torch::kFloat));  // fp32 under autocast too
    }
    terms.front().second = terms.front().second + feature_weight * feature_loss;
    terms.push_back({"feature", feature_loss.detach()});
    return terms;
  };
}

StudentRun train_student(torch::jit::Module student, const std::vector<torch::Tensor>& extras, const Dataset& train,
                         const Dataset& val, const TrainConfig& config, const Objective& objective) {
  StudentRun run{student, train_model(student, extras, train, val, config, objective), -1};
  if (val.has_labels()) run.val_accuracy = evaluate_on_main(student, val, config).first;
  student.eval();
  return run;
}

std::filesystem::path with_suffix(const std::filesystem::path& path, const std::string& suffix) {
  return path.empty() ? path : std::filesystem::path(path.string() + suffix);
}

}  // namespace


namespace {

// What soft-target objectives are built from: the teacher's logits cached once per training row
// when the inputs never change, else the teacher itself, run on every augmented batch.
struct TeacherSource {
  torch::jit::Module teacher;
  torch::Tensor cached_logits;  // undefined with augmentation
};

// The objective of one run: labels only (no soft targets) or distillation; `rows` picks the
// training rows of a partial run (undefined: all of them).
Objective objective_for(const std::optional<SoftTargets>& soft, const TeacherSource& source, const torch::Tensor& rows,
                        const DistillRequest& settings) {
  if (!soft) return cross_entropy_objective(settings.augment, settings.train.seed);
  if (source.cached_logits.defined()) {
    return distillation_objective(rows.defined() ? source.cached_logits.index_select(0, rows) : source.cached_logits, *soft);
  }
  return live_teacher_objective(source.teacher, *soft, settings.augment, settings.train.seed);
}

// A training config for a run that is not checkpointed (the search's short runs).
TrainConfig scratch_config(const DistillRequest& settings, const std::string& label) {
  TrainConfig config = settings.train;
  config.label = label;
  config.checkpoint_path.clear();
  config.resume_path.clear();
  config.stop_after_steps = 0;  // the test hook interrupts the checkpointed run, not the search
  return config;
}

// Trains every candidate for a fraction of the budget on part of the training rows and scores it
// on rows none of them trained on; the user's validation set stays out of the choice.
std::vector<RecipeCandidate> search_recipes(const TeacherSource& source, const torch::jit::Module& initial,
                                            const Dataset& train, const DistillRequest& settings) {
  const int64_t n = train.size();
  if (n < 20) throw usage_error(fmt::format("--recipe auto holds out part of the training data: {} samples are too few "
                                            "(use --recipe fixed)", n));
  const auto& search = settings.search;
  const int64_t holdout = std::clamp<int64_t>(std::llround(static_cast<double>(n) * search.holdout_fraction), 10, n / 2);
  const int64_t rest = n - holdout;
  // At least kMinSearchSteps steps per epoch: on a small training set a fraction of the budget
  // would be a few steps, too few to rank anything (small sets are cheap to train on in full).
  constexpr int64_t kMinSearchSteps = 50;
  const int64_t budget_rows = std::clamp<int64_t>(std::llround(static_cast<double>(rest) * search.budget_fraction),
                                                  std::min(rest, kMinSearchSteps * settings.train.batch_size), rest);
  auto generator = at::make_generator<at::CPUGeneratorImpl>(settings.train.seed * 1000003ULL + 77);
  const auto order = torch::randperm(n, generator, torch::kLong);
  const auto holdout_rows = order.slice(0, 0, holdout);
  const auto train_rows = order.slice(0, holdout, holdout + budget_rows);
  const auto held_out = train.rows(holdout_rows);
  const auto part = train.rows(train_rows);

  auto candidates = recipe_candidates(settings.soft);
  log_info("recipe search: {} candidates, each trained on {} of {} training samples for {} epoch(s), ranked on {} "
           "held-out training samples",
           candidates.size(), budget_rows, n, settings.train.epochs, holdout);
  for (size_t i = 0; i < candidates.size(); ++i) {
    auto& c = candidates[i];
    const auto start = std::chrono::steady_clock::now();
    auto config = scratch_config(settings, fmt::format("search {}/{} {}", i + 1, candidates.size(), c.name()));
    auto run = train_student(clone_module(initial), {}, part, held_out, config,
                             objective_for(c.soft, source, train_rows, settings));
    c.holdout_accuracy = run.val_accuracy;
    c.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    log_info("recipe search {}/{}: {:<24} {:.2f}% on the held-out slice ({:.1f}s)", i + 1, candidates.size(), c.name(),
             100 * c.holdout_accuracy, c.seconds);
  }
  return candidates;
}

// The best candidate on the held-out slice; ties go to the earlier one (labels only first).
const RecipeCandidate& winner(const std::vector<RecipeCandidate>& candidates) {
  size_t best = 0;
  for (size_t i = 1; i < candidates.size(); ++i) {
    if (candidates[i].holdout_accuracy > candidates[best].holdout_accuracy) best = i;
  }
  return candidates[best];
}

nlohmann::json recipe_json(const std::optional<SoftTargets>& soft) {
  return soft ? soft->to_json() : nlohmann::json({{"loss", "labels-only"}});
}

}  // namespace

std::string RecipeCandidate::name() const { return soft ? soft->describe() : "labels-only"; }

std::vector<RecipeCandidate> recipe_candidates(const SoftTargets& base) {
  std::vector<RecipeCandidate> candidates = {RecipeCandidate{std::nullopt}, RecipeCandidate{base}};
  const std::vector<SoftTargets> grid = {
      {KdLoss::kVanilla, 4, 0.5, 8},
      {KdLoss::kLogitStandardized, 2, 0.9, 8},
      // The paper's beta=8 (for 100 classes) needs its 20-epoch warm-up; at the short budgets the
      // search runs, it fell 8-30 points behind labels-only on Fashion-MNIST (10 classes).
      {KdLoss::kDecoupled, 4, 0.5, 2},
  };
  for (const auto& soft : grid) {
    if (soft.describe() != base.describe()) candidates.push_back(RecipeCandidate{soft});
  }
  return candidates;
}

std::optional<double> DistillOutcome::gain_points() const {
  if (!baseline) return std::nullopt;
  return 100 * (distilled.val_accuracy - baseline->val_accuracy);
}

std::string DistillOutcome::verdict() const {
  const auto recipe = chosen ? chosen->describe() : std::string("labels-only");
  if (!chosen) {
    return fmt::format("labels-only training won the recipe search: the student ships trained on labels only "
                       "(no distillation setting beat it on the held-out slice)");
  }
  const auto gain = gain_points();
  if (!gain) return fmt::format("distilled with {}; the gain over labels-only training was not measured (--baseline-ce)", recipe);
  if (*gain >= 0) return fmt::format("distillation ({}) gained {:.2f} points over labels-only training; the distilled student ships", recipe, *gain);
  if (shipped_baseline) {
    return fmt::format("distillation ({}) LOST {:.2f} points vs labels-only training; the labels-only student ships instead "
                       "(--ship distilled keeps the distilled one)", recipe, -*gain);
  }
  return fmt::format("distillation ({}) LOST {:.2f} points vs labels-only training; the distilled student ships as asked "
                     "(--ship distilled)", recipe, -*gain);
}

json DistillOutcome::to_json() const {
  json j = {{"teacher", {{"val_accuracy", teacher_val_accuracy}}},
            {"student", {{"val_accuracy_before", student_val_accuracy_before},
                         {"val_accuracy_after", shipped().val_accuracy}}},
            {"recipe", {{"mode", candidates.empty() ? "fixed" : "auto"}, {"chosen", recipe_json(chosen)}}},
            {"distilled", {{"val_accuracy", distilled.val_accuracy}}},
            {"training", distilled.result.to_json()},
            {"precision", precision.to_json()},
            {"shipped", shipped_kind()},
            {"verdict", verdict()}};
  if (!candidates.empty()) {
    json tried = json::array();
    for (const auto& c : candidates) {
      tried.push_back({{"name", c.name()}, {"settings", recipe_json(c.soft)}, {"holdout_accuracy", c.holdout_accuracy},
                       {"seconds", c.seconds}});
    }
    j["recipe"]["candidates"] = tried;
  }
  if (baseline) {
    j["baseline_ce"] = {{"val_accuracy", baseline->val_accuracy}, {"training", baseline->result.to_json()}};
    j["gain_over_baseline_points"] = *gain_points();
  }
  return j;
}


namespace {

void validate_settings(const DistillRequest& settings, const Dataset& train, const Dataset& val) {
  validate_soft_targets(settings.soft);
  validate_config(settings.train);
  const bool automatic = settings.recipe == Recipe::kAuto;
  if (automatic && !train.has_labels()) {
    throw usage_error("--recipe auto compares distillation with labels-only training: it needs training labels "
                      "(without labels use --recipe fixed)");
  }
  if (automatic && !settings.feature_pairs.empty()) {
    throw usage_error("--feature-pair uses the fixed recipe: add --recipe fixed (with --loss/--temperature/--alpha)");
  }
  if (settings.augment.any() && !train.more_inputs.empty()) {
    throw usage_error("--augment and --mixup transform images: a multi-input model's data is trained on as it is");
  }
  if (settings.augment.any() && !settings.feature_pairs.empty()) {
    throw usage_error("--augment is not combined with --feature-pair yet: drop one of them");
  }
  if ((settings.baseline_ce || automatic) && !train.has_labels()) throw usage_error("--baseline-ce needs labelled training data");
  if ((settings.baseline_ce || automatic) && !val.has_labels()) {
    throw usage_error("comparing with labels-only training needs labelled --val data");
  }
  if (!(settings.search.holdout_fraction > 0 && settings.search.holdout_fraction < 0.5) ||
      !(settings.search.budget_fraction > 0 && settings.search.budget_fraction <= 1)) {
    throw usage_error("the recipe search needs 0 < holdout fraction < 0.5 and 0 < budget fraction <= 1");
  }
}

// The chosen recipe with feature matching: taps live in an inlined training copy, and the
// weights go back into the clean student.
StudentRun train_with_features(const Model& teacher, torch::jit::Module trained, const Dataset& train, const Dataset& val,
                               const TrainConfig& config, const DistillRequest& settings) {
  auto tapped = clone_module(trained);
  torch::manual_seed(settings.train.seed);  // the projections start from the seed
  auto features = std::make_shared<FeatureDistillation>(prepare_features(teacher, tapped, train, settings));
  std::vector<torch::Tensor> learned;  // equal widths need no projection, so nothing to train there
  for (const auto& p : features->projections) {
    if (p.defined()) learned.push_back(p);
  }
  auto run = train_student(tapped, learned, train, val, config,
                           feature_objective(features, settings.soft, settings.feature_weight));
  restore_weights(trained, snapshot_weights(tapped));
  trained.eval();
  return {trained, run.result, run.val_accuracy};
}

}  // namespace

DistillOutcome run_distill(const Model& host_teacher, const torch::jit::Module& student, const Dataset& train,
                       const Dataset& val, const DistillRequest& request) {
  validate_settings(request, train, val);
  check_distillation_inputs(host_teacher, student, train, val);

  DistillOutcome outcome;
  auto settings = request;
  const auto device = settings.train.device;
  const auto teacher = device.is_cpu() ? host_teacher : model_on_device(host_teacher, device);
  auto initial = clone_module(student);  // every run starts from exactly these weights
  initial.to(device);
  if (val.has_labels() && settings.train.is_main_rank()) {  // for the report, which rank 0 writes
    auto teacher_module = module_of(teacher);
    outcome.teacher_val_accuracy = evaluate_classifier(teacher_module, val, settings.train.eval_batch_size).first;
    auto probe = clone_module(initial);
    outcome.student_val_accuracy_before = evaluate_classifier(probe, val, settings.train.eval_batch_size).first;
    log_info("teacher val accuracy {:.2f}%, student before training {:.2f}%", 100 * outcome.teacher_val_accuracy,
             100 * outcome.student_val_accuracy_before);
  }

  TeacherSource source{module_of(teacher), {}};
  if (settings.feature_pairs.empty() && !settings.augment.any()) {
    log_info("computing teacher logits for {} training samples (once: no augmentation)", train.size());
    source.cached_logits = teacher_logits_for(source.teacher, train, settings.train);
  } else if (settings.augment.any()) {
    log_info("augmentation {}: the teacher runs on every augmented batch (inference mode)", settings.augment.describe());
  }

  outcome.precision = choose_precision(initial, train, settings.train, objective_for(settings.soft, source, {}, settings));
  settings.train.precision = outcome.precision.chosen;

  outcome.chosen = settings.soft;
  if (settings.recipe == Recipe::kAuto) {
    outcome.candidates = search_recipes(source, initial, train, settings);
    outcome.chosen = winner(outcome.candidates).soft;
    log_info("recipe search chose {}", winner(outcome.candidates).name());
  }

  TrainConfig config = settings.train;
  config.label = outcome.chosen ? "distill" : "labels-only";
  config.fingerprint = {{"recipe", recipe_json(outcome.chosen)}, {"augment", settings.augment.to_json()},
                        {"feature_pairs", settings.feature_pairs}, {"feature_weight", settings.feature_weight}};
  if (outcome.chosen && !settings.feature_pairs.empty()) {
    outcome.distilled = train_with_features(teacher, clone_module(initial), train, val, config, settings);
  } else {
    outcome.distilled = train_student(clone_module(initial), {}, train, val, config,
                                      objective_for(outcome.chosen, source, {}, settings));
  }

  if (!outcome.chosen) {
    outcome.baseline = outcome.distilled;  // the chosen run is the labels-only run
  } else if (settings.baseline_ce || settings.recipe == Recipe::kAuto) {
    TrainConfig baseline_config = settings.train;
    baseline_config.label = "baseline-ce";
    baseline_config.fingerprint = {{"recipe", "labels-only"}, {"augment", settings.augment.to_json()}};
    baseline_config.checkpoint_path = with_suffix(settings.train.checkpoint_path, ".baseline");
    baseline_config.resume_hint = settings.train.checkpoint_path;  // --resume takes the main checkpoint
    const auto resume = with_suffix(settings.train.resume_path, ".baseline");
    baseline_config.resume_path = !resume.empty() && std::filesystem::exists(resume) ? resume : std::filesystem::path();
    outcome.baseline = train_student(clone_module(initial), {}, train, val, baseline_config,
                                     cross_entropy_objective(settings.augment, settings.train.seed));
  }
  outcome.shipped_baseline = settings.ship_better && outcome.baseline && outcome.chosen &&
                             outcome.baseline->val_accuracy > outcome.distilled.val_accuracy;
  outcome.distilled.student.to(c10::kCPU);  // saved to run anywhere; compile targets a device
  if (outcome.baseline) outcome.baseline->student.to(c10::kCPU);
  return outcome;
}

DistillOutcome run_distill_job(const Model& teacher, const torch::jit::Module& student, const Dataset& train,
                               const Dataset& val, const DistillRequest& settings, const DistillJob& job, Report& report,
                               const std::function<void(const DistillOutcome&, const DistillShown&)>& present) {
  auto outcome = run_distill(teacher, student, train, val, settings);
  auto& metrics = report.metrics();
  metrics["teacher"] = {{"accuracy", outcome.teacher_val_accuracy}};
  metrics["student"] = {{"accuracy_before", outcome.student_val_accuracy_before},
                        {"accuracy_after", outcome.shipped().val_accuracy}};
  metrics["training"] = {{"train_s", outcome.distilled.result.train_seconds},
                         {"samples_per_s", outcome.distilled.result.samples_per_s},
                         {"final_loss", outcome.distilled.result.history.empty()
                                            ? nlohmann::json::object()
                                            : nlohmann::json(outcome.distilled.result.history.back().train_loss)},
                        {"precision", outcome.precision.to_json()}};
  if (outcome.baseline) {
    metrics["baseline_ce"] = {{"accuracy", outcome.baseline->val_accuracy},
                              {"samples_per_s", outcome.baseline->result.samples_per_s}};
    metrics["gain_over_baseline_points"] = *outcome.gain_points();
  }
  metrics["shipped"] = outcome.shipped_kind();
  report.details()["distillation"] = outcome.to_json();
  report.details()["distillation"]["settings"] = {{"recipe", settings.recipe == Recipe::kAuto ? "auto" : "fixed"},
                                                  {"soft_targets", settings.soft.to_json()},
                                                  {"augment", settings.augment.to_json()},
                                                  {"feature_pairs", job.feature_pairs_text},
                                                  {"epochs", settings.train.epochs},
                                                  {"batch_size", settings.train.batch_size},
                                                  {"optimizer", settings.train.optimizer.name},
                                                  {"lr", settings.train.optimizer.lr},
                                                  {"schedule", settings.train.schedule.kind},
                                                  {"seed", settings.train.seed},
                                                  {"device", settings.train.device.str()},
                                                  {"amp", amp_request_name(settings.train.amp)}};

  if (job.require_gain) {
    const double gain = *outcome.gain_points();
    report.add_gate("require-gain", fmt::format("gain over labels-only >= {} points", *job.require_gain),
                    gain >= *job.require_gain, gain);
    if (gain < *job.require_gain) {
      present(outcome, DistillShown{});
      throw Error(ExitCode::kGateFailed, fmt::format("distillation gained {:.2f} points over labels-only training "
                                                     "(--require-gain {}); no artifact written", gain, *job.require_gain));
    }
  }

  if (!settings.train.is_main_rank()) return outcome;  // rank 0 writes the student and the report
  const auto& shipped = outcome.shipped();
  auto result = Model::from_torchscript(shipped.student);
  result.set_extra_file("mopt.json", nlohmann::json({{"made_by", "mopt distill"},
                                                      {"teacher", job.teacher_path},
                                                      {"trained_with", outcome.shipped_baseline || !outcome.chosen
                                                                           ? "labels-only"
                                                                           : outcome.chosen->describe()},
                                                      {"val_accuracy", shipped.val_accuracy}}).dump());
  DistillShown shown;
  if (std::filesystem::path(job.output).extension() == ".onnx") {
    // The accuracy above is LibTorch's: measure the exported file where it will run, on the same data.
    log_info("exporting the student to ONNX (opset {}) and checking it in ONNX Runtime ...", ExportOptions{}.opset);
    const auto& check_data = val.size() == 0 ? train : val;
    result.torchscript().eval();
    auto exported = export_like(result, check_data.input_rows(0, 1));
    ComparisonSettings check;
    check.time_latency = job.time_latency;
    shown.onnx_check = compare_models(result, exported, check_data, check);
    metrics["onnx_export"] = shown.onnx_check;
    result = exported;
  }
  result.save(job.output);
  report.add_output(job.output, &result);
  shown.written = true;
  present(outcome, shown);
  return outcome;
}

}  // namespace mopt::train
