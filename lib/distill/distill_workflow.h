#pragma once
// `mopt distill` as a library call: train a student TorchScript model against a teacher's soft
// targets, optionally matching intermediate features, with the shared training loop (lib/train). A
// recipe search (`--recipe auto`) picks the loss, temperature and alpha (or labels only) on a held-out
// slice of the training data, and the labels-only baseline keeps the tool honest: the better student ships.
#include <torch/script.h>

#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lib/data/dataset.h"
#include "lib/model/model.h"
#include "lib/report/report.h"
#include "lib/train/augment.h"
#include "lib/train/distill_objectives.h"
#include "lib/train/precision_choice.h"
#include "lib/train/trainer.h"

namespace mopt::train {

/// How the soft-target settings are chosen.
enum class Recipe { kFixed, kAuto };

/// The auto recipe's short search.
struct RecipeSearchSettings {
  double holdout_fraction = 0.1;  ///< of the training rows, held out to rank the candidates
  double budget_fraction = 0.2;   ///< of the full budget's optimizer steps, per candidate
};

struct DistillRequest {
  SoftTargets soft;  ///< the fixed recipe (and the auto recipe's first distillation candidate)
  Recipe recipe = Recipe::kFixed;
  RecipeSearchSettings search;
  AugmentSpec augment;  ///< applied to every run alike (distilled, candidates, baseline)
  std::vector<std::pair<std::string, std::string>> feature_pairs;  ///< (teacher layer, student layer)
  double feature_weight = 1.0;  ///< weight of each feature-matching MSE term
  TrainConfig train;
  bool baseline_ce = false;     ///< also train the same initial student on labels only, same budget
  bool ship_better = true;      ///< return the baseline when it beats the distilled student on validation
};

/// One training run's result: the trained student and how it got there.
struct StudentRun {
  torch::jit::Module student;
  TrainResult result;
  double val_accuracy = -1;  ///< of the returned (best) weights
};

/// One recipe the auto search tried: labels only (no soft targets) or a soft-target setting.
struct RecipeCandidate {
  std::optional<SoftTargets> soft;
  double holdout_accuracy = -1;
  double seconds = 0;
  std::string name() const;
};

struct DistillOutcome {
  double teacher_val_accuracy = -1;
  double student_val_accuracy_before = -1;
  std::vector<RecipeCandidate> candidates;  ///< the auto search, in the order tried; empty when fixed
  std::optional<SoftTargets> chosen;        ///< the recipe of `distilled`; none = labels only
  StudentRun distilled;                     ///< the chosen recipe trained with the full budget
  std::optional<StudentRun> baseline;       ///< labels only, same init, seed, augmentation and budget
  bool shipped_baseline = false;            ///< the baseline beat the distilled student and ships instead
  PrecisionChoice precision;                ///< what every run trained in (--amp), and the speeds measured
  /// The student to write out.
  const StudentRun& shipped() const { return shipped_baseline ? *baseline : distilled; }
  /// What shipped: "distilled", "baseline" (it beat the distilled student) or "labels-only" (the search chose it).
  std::string shipped_kind() const { return !chosen ? "labels-only" : shipped_baseline ? "baseline" : "distilled"; }
  /// Validation points gained by the chosen recipe over the baseline; none without a baseline.
  std::optional<double> gain_points() const;
  /// One sentence for stdout and the report saying which student ships and why.
  std::string verdict() const;
  nlohmann::json to_json() const;
};

/// Distills `teacher` into a copy of `student` (the input is left as it is) on settings.train.device;
/// the students come back on the CPU.
DistillOutcome run_distill(const Model& teacher, const torch::jit::Module& student, const Dataset& train,
                       const Dataset& val, const DistillRequest& settings);

/// What `mopt distill` writes, and the gate it judges the result by.
struct DistillJob {
  std::string output;                   ///< .pt, or .onnx: exported and checked in ONNX Runtime first
  std::string teacher_path;             ///< recorded in the artifact
  std::optional<double> require_gain;   ///< points over labels-only training; less writes nothing (exit 3)
  std::vector<std::string> feature_pairs_text;  ///< --feature-pairs as given, for the report
  bool time_latency = true;             ///< .onnx: time the exported file against the student
};

/// How the job ended, for the caller to print.
struct DistillShown {
  bool written = false;
  nlohmann::json onnx_check;  ///< .onnx: compare_models() of the student in LibTorch vs the file in ORT
};

/// `mopt distill` as a library call: run_distill(), then fills `report` (metrics,
/// details.distillation), enforces job.require_gain (`present` sees the outcome before it throws),
/// and on the main rank writes job.output atomically and shows it through `present`.
DistillOutcome run_distill_job(const Model& teacher, const torch::jit::Module& student, const Dataset& train,
                               const Dataset& val, const DistillRequest& settings, const DistillJob& job, Report& report,
                               const std::function<void(const DistillOutcome&, const DistillShown&)>& present);

/// The auto recipe's candidates: labels only, then soft-target settings, `base` first.
std::vector<RecipeCandidate> recipe_candidates(const SoftTargets& base);

}  // namespace mopt::train
