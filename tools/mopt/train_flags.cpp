#include "tools/mopt/train_flags.h"

#include <filesystem>

#include "lib/util/log.h"

namespace mopt::cli {
namespace {

std::string default_checkpoint(const std::string& output) { return output + ".ckpt"; }

}  // namespace

void add_train_flags(CLI::App& command, TrainFlags& flags) {
  auto& c = flags.config;
  auto* group = command.add_option_group("Training");
  group->add_option("--epochs", c.epochs, "passes over the training data (default 5)")->check(CLI::PositiveNumber);
  group->add_option("--batch-size", c.batch_size, "samples per step (default 64)")->check(CLI::PositiveNumber);
  group->add_option("--optimizer", c.optimizer.name, "adam (default), adamw or sgd")
      ->check(CLI::IsMember({"adam", "adamw", "sgd"}));
  group->add_option("--lr", c.optimizer.lr, "learning rate; the peak rate for one-cycle (default 0.001)");
  group->add_option("--momentum", c.optimizer.momentum, "SGD momentum (default 0.9)");
  group->add_option("--weight-decay", c.optimizer.weight_decay, "weight decay (decoupled for adamw; default 0)");
  group->add_option("--lr-schedule", c.schedule.kind, "learning-rate schedule: constant (default), cosine, step, one-cycle")
      ->check(CLI::IsMember({"constant", "cosine", "step", "one-cycle"}));
  group->add_option("--step-epochs", c.schedule.step_epochs, "step schedule: decay every N epochs (default 1)");
  group->add_option("--gamma", c.schedule.gamma, "step schedule: decay factor (default 0.1)");
  group->add_option("--clip-grad-norm", c.clip_grad_norm, "clip the global gradient L2 norm to this (default off)");
  group->add_option("--seed", c.seed, "seed for shuffling, dropout and new layers (default 0)");
  group->add_option("--patience", c.patience, "stop after N epochs without a better validation accuracy (default off)");
  group->add_option("--checkpoint", flags.checkpoint,
                    "checkpoint written after every epoch and on Ctrl-C (default OUTPUT.ckpt, deleted on success)")
      ->type_name("FILE");
  group->add_option("--resume", flags.resume, "continue an interrupted run from its checkpoint, exactly")->type_name("FILE");
  // For tests of interruption: behaves as if Ctrl-C arrived after N optimizer steps.
  command.add_option("--stop-after-steps", c.stop_after_steps)->group("");
}

train::TrainConfig train_config(const TrainFlags& flags, const std::string& output) {
  auto config = flags.config;
  config.checkpoint_path = flags.checkpoint.empty() ? default_checkpoint(output) : flags.checkpoint;
  config.resume_path = flags.resume;
  if (flags.resume.empty() && std::filesystem::exists(config.checkpoint_path)) {
    log_info("note: {} exists (from an interrupted run?); it will be overwritten; pass --resume {} to continue that run",
             config.checkpoint_path.string(), config.checkpoint_path.string());
  }
  return config;
}

void remove_default_checkpoints(const TrainFlags& flags, const std::string& output) {
  if (!flags.checkpoint.empty()) return;
  std::error_code ignored;
  std::filesystem::remove(default_checkpoint(output), ignored);
  std::filesystem::remove(default_checkpoint(output) + ".baseline", ignored);
}

}  // namespace mopt::cli
