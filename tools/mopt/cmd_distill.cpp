// mopt distill --teacher T --student S --train DATA --val DATA -o OUT: knowledge distillation in
// LibTorch's C++ autograd, with an optional labels-only baseline trained for the same budget.
#include <cmath>

#include "lib/errors.h"
#include "lib/eval/evaluate.h"
#include "lib/eval/model_comparison.h"
#include "lib/measure/memory.h"
#include "lib/onnx/import/onnx_importer.h"
#include "lib/distill/distill_workflow.h"
#include "lib/util/log.h"
#include "tools/mopt/commands.h"
#include "tools/mopt/data_flags.h"
#include "tools/mopt/train_flags.h"

namespace mopt::cli {
namespace {

struct DistillArgs {
  CommonArgs common;
  TrainFlags training;
  std::string teacher, student, output;
  std::string train, train_labels, val, val_labels, normalize;
  int64_t train_samples = 0, val_samples = 0;
  double temperature = 3, alpha = 0.7, feature_weight = 1.0, dkd_beta = 8;
  std::string loss = "vanilla", recipe, augment = "none", ship = "best";
  int64_t max_shift = 2;
  double mixup = 0, search_budget = 0.2, require_gain = std::nan("");
  std::vector<std::string> feature_pairs;
  bool baseline_ce = false, force = false;
  bool time_latency = true;  ///< an .onnx output's check in ONNX Runtime times both files
  bool soft_targets_given = false;  ///< --loss, --temperature or --alpha on the command line
};

// --recipe auto is the default when there are labels to train and validate on, unless the user fixed
// the soft targets themselves (or asked for feature matching, which the search does not vary).
train::Recipe choose_recipe(const DistillArgs& args, bool labelled) {
  if (args.recipe == "auto") return train::Recipe::kAuto;
  if (args.recipe == "fixed") return train::Recipe::kFixed;
  if (!args.recipe.empty()) throw usage_error(fmt::format("--recipe must be auto or fixed, not '{}'", args.recipe));
  return labelled && !args.soft_targets_given && args.feature_pairs.empty() ? train::Recipe::kAuto : train::Recipe::kFixed;
}

std::vector<std::pair<std::string, std::string>> parse_feature_pairs(const std::vector<std::string>& texts) {
  std::vector<std::pair<std::string, std::string>> pairs;
  for (const auto& text : texts) {
    const auto colon = text.find(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == text.size() || text.find(':', colon + 1) != std::string::npos) {
      throw usage_error(fmt::format("--feature-pair '{}' must be TEACHER_LAYER:STUDENT_LAYER (e.g. features.7:features.7)", text));
    }
    pairs.emplace_back(text.substr(0, colon), text.substr(colon + 1));
  }
  return pairs;
}

std::string pct(double v) { return v < 0 ? std::string("n/a") : fmt::format("{:.2f}%", 100 * v); }

void print_candidates(const train::DistillOutcome& outcome) {
  if (outcome.candidates.empty()) return;
  say("recipe search (short runs, ranked on held-out training samples):");
  for (const auto& c : outcome.candidates) {
    const bool chosen = c.soft.has_value() == outcome.chosen.has_value() &&
                        (!c.soft || c.soft->describe() == outcome.chosen->describe());
    say("  {} {:<24} {:>8}   ({:.1f}s)", chosen ? "*" : " ", c.name(), pct(c.holdout_accuracy), c.seconds);
  }
}

void print_summary(const train::DistillOutcome& outcome, const std::string& output) {
  print_candidates(outcome);
  say("student -> {}", output);
  say("{:<28} {:>10}", "teacher val accuracy", pct(outcome.teacher_val_accuracy));
  say("{:<28} {:>10}", "student before", pct(outcome.student_val_accuracy_before));
  const auto recipe = outcome.chosen ? outcome.chosen->describe() : std::string("labels-only");
  say("{:<28} {:>10}   ({}; best epoch {}, {:.0f} samples/s, {:.1f}s training)",
      outcome.chosen ? "student distilled" : "student (labels only)", pct(outcome.distilled.val_accuracy), recipe,
      outcome.distilled.result.best_epoch, outcome.distilled.result.samples_per_s, outcome.distilled.result.train_seconds);
  const auto& precision = outcome.precision;
  if (!precision.samples_per_s.empty()) {
    std::vector<std::string> speeds;
    for (const auto& [name, rate] : precision.samples_per_s) speeds.push_back(fmt::format("{} {:.0f}", name, rate));
    say("{:<28} {:>10}   ({}; training samples/s over {} steps: {})", "training precision",
        precision_name(precision.chosen), precision.reason, train::kPrecisionProbeSteps, fmt::join(speeds, ", "));
  }
  if (outcome.baseline && outcome.chosen) {
    say("{:<28} {:>10}   (same student, init, seed, augmentation and budget; {:.0f} samples/s)",
        "baseline (labels only)", pct(outcome.baseline->val_accuracy), outcome.baseline->result.samples_per_s);
  }
  say("{}", outcome.verdict());
}

void run_distill_command(const DistillArgs& args, Report& report) {
  check_output_path(args.student, args.output, args.force);
  // Teacher and validation passes freed and re-mapped their activations every batch: a 25,600-sample
  // run with the 91% teacher took 122-154 s instead of 64-72 s (docs/benchmarks.md, "Distillation recipes").
  keep_freed_memory_in_process();
  const bool onnx_out = std::filesystem::path(args.output).extension() == ".onnx";
  if (!onnx_out) require_torchscript_output(args.output);
  auto pairs = parse_feature_pairs(args.feature_pairs);
  auto teacher = load_executable(args.teacher);
  auto student = load_executable(args.student);
  report.add_input(args.teacher, &teacher);
  report.add_input(args.student, &student);

  // A multi-input folder (input_0.npy, input_1.npy, ...) feeds a multi-input teacher and student.
  auto train = load_data_path(args.train, args.train_labels, "train", args.train_samples, args.normalize);
  auto val = args.val.empty() ? Dataset{}
                              : load_data_path(args.val, args.val_labels, "test", args.val_samples, args.normalize);
  log_info("training data: {}", train.description);
  if (!args.val.empty()) log_info("validation data: {}", val.description);

  train::DistillRequest settings;
  settings.soft = {train::parse_kd_loss(args.loss), args.temperature, args.alpha, args.dkd_beta};
  settings.recipe = choose_recipe(args, train.has_labels() && val.has_labels());
  settings.search.budget_fraction = args.search_budget;
  settings.augment = train::parse_augment(args.augment, args.max_shift, args.mixup);
  settings.feature_pairs = pairs;
  settings.feature_weight = args.feature_weight;
  const bool gain_required = !std::isnan(args.require_gain);
  settings.baseline_ce = args.baseline_ce || gain_required;
  if (args.ship != "best" && args.ship != "distilled") throw usage_error("--ship must be best or distilled");
  settings.ship_better = args.ship == "best";
  settings.train = train_config(args.training, args.output);

  train::DistillJob job;
  job.output = args.output;
  job.teacher_path = args.teacher;
  if (gain_required) job.require_gain = args.require_gain;
  job.feature_pairs_text = args.feature_pairs;
  job.time_latency = args.time_latency;
  train::run_distill_job(teacher, student.torchscript(), train, val, settings, job, report,
                         [&](const train::DistillOutcome& outcome, const train::DistillShown& shown) {
                           print_summary(outcome, shown.written ? args.output : "(not written)");
                           if (shown.onnx_check.is_null()) return;
                           const auto& agreement = shown.onnx_check["agreement"];
                           say("ONNX file in ONNX Runtime vs the trained student in LibTorch: cosine {:.6f}, {}",
                               agreement["cosine"].get<double>(), top1_agreement_text(agreement));
                           say("{:<28} {:>14} {:>14}", "", "LibTorch .pt", "ORT .onnx");
                           say_latency_and_accuracy(shown.onnx_check);
                         });
  if (!settings.train.is_main_rank()) return;
  remove_default_checkpoints(args.training, args.output);
}

}  // namespace

void setup_distill(CLI::App& app) {
  auto args = std::make_shared<DistillArgs>();
  auto* cmd = app.add_subcommand("distill", "train a small student model against a teacher's soft targets (C++ autograd)");
  cmd->add_option("--teacher", args->teacher, "teacher model (TorchScript, any mopt can run)")->required()->type_name("MODEL");
  cmd->add_option("--student", args->student, "student model (unfrozen TorchScript with trainable parameters)")
      ->required()->type_name("MODEL");
  cmd->add_option("--train", args->train, "training data (train split of a folder by default)")->required()->type_name("DATA");
  cmd->add_option("--val", args->val, "validation data with labels (test split of a folder by default)")->type_name("DATA");
  cmd->add_option("-o,--output", args->output, "trained student (.pt, .ptl for the lite interpreter, or .onnx: exported, then checked and timed in ONNX Runtime)")->required();
  cmd->add_option("--train-labels", args->train_labels, "labels for a --train file (optional: pure soft targets without)")
      ->type_name("FILE");
  cmd->add_option("--val-labels", args->val_labels, "labels for a --val file")->type_name("FILE");
  cmd->add_option("--train-samples", args->train_samples, "train on the first N samples (0 = all)");
  cmd->add_option("--val-samples", args->val_samples, "validate on the first N samples (0 = all)");
  cmd->add_option("--normalize", args->normalize, "MEAN,STD or M1,M2,M3/S1,S2,S3 for uint8 images")->type_name("MEAN,STD");
  auto* loss = cmd->add_option("--loss", args->loss,
                               "soft-target loss: vanilla (Hinton KD), ls (logit-standardized KD), dkd (decoupled KD)");
  auto* temperature = cmd->add_option("--temperature", args->temperature, "softmax temperature of the soft targets (default 3)");
  auto* alpha = cmd->add_option("--alpha", args->alpha, "weight of the soft-target loss; 1-alpha weighs label cross-entropy (default 0.7)");
  cmd->add_option("--dkd-beta", args->dkd_beta, "weight of DKD's non-target-class term (default 8)");
  cmd->add_option("--recipe", args->recipe,
                  "auto: try labels-only and several losses/temperatures on a held-out slice first (default with labels, "
                  "unless --loss/--temperature/--alpha are given); fixed: use the given settings")
      ->type_name("auto|fixed");
  cmd->add_option("--search-budget", args->search_budget, "fraction of the training budget each auto-recipe candidate gets (default 0.2)");
  cmd->add_option("--augment", args->augment,
                  "image augmentation applied to every run, the teacher evaluated on the same augmented batch each step")
      ->type_name("shift,flip|none");
  cmd->add_option("--max-shift", args->max_shift, "largest random shift in pixels for --augment shift (default 2)");
  cmd->add_option("--mixup", args->mixup, "mix pairs of samples with lambda ~ Beta(A, A) (0 = off)")->type_name("A");
  cmd->add_option("--require-gain", args->require_gain,
                  "fail (exit 3, no artifact) unless distillation beats labels-only training by at least P points")
      ->type_name("P");
  cmd->add_option("--ship", args->ship, "best: write the labels-only student when it beats the distilled one (default); distilled: always the distilled one")
      ->type_name("best|distilled");
  cmd->add_option("--feature-pair", args->feature_pairs,
                  "also match an intermediate layer's output (MSE, learned projection when widths differ); repeatable")
      ->type_name("TEACHER_LAYER:STUDENT_LAYER");
  cmd->add_option("--feature-weight", args->feature_weight, "weight of each feature-matching loss (default 1)");
  cmd->add_flag("--baseline-ce", args->baseline_ce,
                "also train the same student from the same init on labels only, same budget, and report both");
  add_no_latency_flag(*cmd, args->time_latency);
  cmd->add_flag("--force", args->force, "allow writing over the student model");
  add_train_flags(*cmd, args->training);
  add_common_flags(*cmd, args->common);
  cmd->footer(std::string("Examples:\n"
                          "  mopt distill --teacher cnn.pt --student small.pt --train /usr/share/datasets/fashion-mnist \\\n"
                          "      --val /usr/share/datasets/fashion-mnist --normalize 0.286,0.353 -o small.distilled.pt \\\n"
                          "      --epochs 3 --report distill.json                  (auto recipe: searches, then trains the winner)\n"
                          "  mopt distill ... --recipe fixed --loss dkd --temperature 4 --alpha 0.5 --baseline-ce\n"
                          "  mopt distill ... --augment shift,flip --mixup 0.2          (teacher re-run on each augmented batch)\n"
                          "  mopt distill ... --require-gain 0.5                        (exit 3 unless +0.5 points over labels only)\n"
                          "  mopt distill ... --feature-pair features.7:features.7 --recipe fixed   (match a hidden layer too)\n"
                          "  mopt distill ... --resume small.distilled.pt.ckpt          (after Ctrl-C)\n"
                          "  mopt distill ... --device cuda                             (on a GPU, mixed precision: --amp auto)\n"
                          "  mopt distill ... --threads 1 --world-size 2 --rank 0 &  mopt distill ... --threads 1 --world-size 2 --rank 1\n"
                          "                                 (data-parallel: 2 processes, global --batch-size; or RANK/WORLD_SIZE/MASTER_ADDR)\n\n"
                          "Loss: alpha*L_soft + (1-alpha)*CE(student, labels), L_soft one of\n"
                          "  vanilla  T^2*KL(softmax(teacher/T) || softmax(student/T))             (Hinton et al. 2015)\n"
                          "  ls       vanilla KD on z-scored logits                              (Sun et al., CVPR 2024)\n"
                          "  dkd      T^2*(TCKD + beta*NCKD), target and non-target terms apart  (Zhao et al., CVPR 2022)\n"
                          "--recipe auto (default with labels) trains labels-only and 4-5 soft-target settings on part of the\n"
                          "training data for --search-budget of the budget each, ranks them on held-out training samples, trains\n"
                          "the winner with the full budget and a labels-only baseline alongside (about 3x the budget in all);\n"
                          "the better of the two on --val ships (--ship distilled keeps the distilled one).\n"
                          "Teacher logits are computed once per sample without augmentation; with --augment the teacher runs\n"
                          "on every batch: a teacher forward per step, its cost shown as samples/s in the report.\n\n") +
              exit_codes_help());
  cmd->callback([args, loss, temperature, alpha] {
    args->soft_targets_given = loss->count() + temperature->count() + alpha->count() > 0;
    prepare_rank(args->training, args->common);
    run_reported("distill", args->common, [&](Report& report) { run_distill_command(*args, report); });
  });
}

}  // namespace mopt::cli
