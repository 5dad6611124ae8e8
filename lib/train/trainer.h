#pragma once
// The shared training loop (distill, prune fine-tuning): mini-batch training of a TorchScript
// module in LibTorch's C++ autograd, with seeded shuffling, LR schedules, gradient clipping,
// validation every epoch, best-weights tracking, early stopping, checkpoints that resume a run
// exactly (mid-epoch too), and Ctrl-C handling. What is minimised is the caller's Objective.
#include <torch/script.h>

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "lib/data/dataset.h"
#include "lib/train/data_parallel.h"
#include "lib/train/lr_schedule.h"
#include "lib/train/mixed_precision.h"
#include "lib/train/optimizer.h"

namespace mopt::train {

struct TrainConfig {
  int64_t epochs = 5;
  int64_t batch_size = 64;
  uint64_t seed = 0;
  OptimizerSpec optimizer;
  ScheduleSpec schedule;
  double clip_grad_norm = 0;   ///< max global L2 norm of the gradients; 0 = no clipping
  int64_t patience = 0;        ///< stop after this many epochs without a better val accuracy; 0 = never
  int64_t eval_batch_size = 256;
  std::filesystem::path checkpoint_path;  ///< written after every epoch and on Ctrl-C; empty = none
  std::filesystem::path resume_path;      ///< continue from this checkpoint
  std::filesystem::path resume_hint;      ///< the --resume path to suggest after Ctrl-C (default: checkpoint_path)
  int64_t stop_after_steps = 0;           ///< act as if Ctrl-C came after this many steps (tests); 0 = off
  std::string label = "train";            ///< names the run in progress lines ("distill", "baseline-ce")
  /// Where the model trains: train_model moves it (and the extra parameters) there in place.
  c10::Device device = c10::kCPU;
  AmpRequest amp = AmpRequest::kOff;      ///< what --amp asked for (part of the run's fingerprint)
  Precision precision = Precision::kFloat32;  ///< what it resolved to (choose_precision)
  nlohmann::json fingerprint;             ///< the caller's settings a checkpoint must match to be resumed
  /// Set: this process is one rank of a data-parallel run; batch_size is the global batch of all
  /// ranks, and only rank 0 validates and writes checkpoints.
  std::shared_ptr<DataParallel> data_parallel;
  bool is_main_rank() const { return !data_parallel || data_parallel->is_main(); }
};

/// One mini-batch: rows of the training set in shuffled order.
struct Batch {
  std::vector<torch::Tensor> inputs;  ///< one per forward() input (token ids and mask, ...)
  torch::Tensor labels;   ///< undefined when the training set has no labels
  torch::Tensor indices;  ///< row numbers in the training set (to look up cached teacher outputs)
  int64_t step = 0;       ///< the run's optimizer step this batch is for (seeds per-step randomness)
  int64_t shard = 0;      ///< which rank's share of the global batch this is (its own random stream)
};

/// Named loss terms; the first is the one minimised, the rest are reported ("kd", "ce", ...).
using LossTerms = std::vector<std::pair<std::string, torch::Tensor>>;
using Objective = std::function<LossTerms(torch::jit::Module& model, const Batch& batch)>;

struct EpochRecord {
  int64_t epoch = 0;  ///< 1-based
  std::map<std::string, double> train_loss;  ///< mean of each loss term over the epoch
  double val_accuracy = -1;                  ///< -1 without validation data
  double val_loss = -1;                      ///< cross-entropy on the validation set
  double learning_rate = 0;                  ///< at the end of the epoch
  double seconds = 0;
  double samples_per_s = 0;
};

struct TrainResult {
  std::vector<EpochRecord> history;
  int64_t best_epoch = 0;             ///< the epoch whose weights the model holds now (0 = last)
  double best_val_accuracy = -1;
  bool early_stopped = false;
  bool resumed = false;
  int64_t steps = 0;                  ///< optimizer steps done in this process
  double train_seconds = 0;           ///< time spent in training steps (no validation), resumed parts included
  double samples_per_s = 0;           ///< training throughput over train_seconds
  int world_size = 1;                 ///< data-parallel ranks that trained together (samples/s counts them all)
  Precision precision = Precision::kFloat32;
  nlohmann::json loss_scaling;        ///< fp16: the final scale and the steps skipped on overflow; null otherwise
  nlohmann::json to_json() const;
};

/// Called after every optimizer step with (global step, total steps), e.g. to re-apply masks.
using StepHook = std::function<void(int64_t step, int64_t total_steps)>;

/// Trains `model` in place: its parameters that require grad (leaves; copy models with
/// clone_module). `extra_parameters` (e.g. feature projections) are optimized and checkpointed alongside. With labelled `val` data, the weights of the best epoch are restored
/// at the end. Throws Error(kInterrupted) after saving a checkpoint when interrupted.
TrainResult train_model(torch::jit::Module& model, const std::vector<torch::Tensor>& extra_parameters,
                        const Dataset& train, const Dataset& val, const TrainConfig& config,
                        const Objective& objective, const StepHook& after_step = {});

/// Training samples per second of `model` with `objective` in `precision`, over `steps` optimizer
/// steps (after two warm-up steps) on a copy of the model: the model, the RNG and everything else
/// the real run uses stay as they are.
double measure_training_speed(const torch::jit::Module& model, const Dataset& train, const TrainConfig& config,
                              const Objective& objective, Precision precision, int64_t steps);

/// The device a module computes on: its parameters', its buffers', or (frozen) its weight constants'.
c10::Device module_device(const torch::jit::Module& model);

/// Puts a model in eval mode for its lifetime and restores the previous mode, even on errors.
class EvalModeGuard {
 public:
  explicit EvalModeGuard(torch::jit::Module model);
  ~EvalModeGuard();
  EvalModeGuard(const EvalModeGuard&) = delete;
  EvalModeGuard& operator=(const EvalModeGuard&) = delete;

 private:
  torch::jit::Module model_;
  bool was_training_;
};

/// Top-1 accuracy and mean cross-entropy of `model` on labelled `data`, in eval mode.
std::pair<double, double> evaluate_classifier(torch::jit::Module& model, const Dataset& data, int64_t batch_size);

/// evaluate_classifier on rank 0 of a data-parallel run, its result shared with every rank (so all
/// ranks take the same decisions); a plain evaluation otherwise.
std::pair<double, double> evaluate_on_main(torch::jit::Module& model, const Dataset& data, const TrainConfig& config);

/// Runs the model's forward on a batch (one tensor per forward() input, moved to the model's
/// device) and returns its (first) tensor output.
torch::Tensor forward_tensor(torch::jit::Module& model, const std::vector<torch::Tensor>& inputs);

/// Validates `config` (usage_error on nonsense such as epochs < 1).
void validate_config(const TrainConfig& config);

}  // namespace mopt::train
