#pragma once
// The training flags distill and prune's fine-tuning share (optimizer, schedule, epochs,
// checkpoints), mapped onto lib/train's TrainConfig.
#include <CLI/CLI.hpp>

#include "lib/train/trainer.h"

namespace mopt::cli {

struct TrainFlags {
  train::TrainConfig config;
  std::string checkpoint;  ///< --checkpoint; empty = OUTPUT.ckpt, removed after a successful run
  std::string resume;
};

/// Adds --epochs, --batch-size, --optimizer, --lr, --momentum, --weight-decay, --schedule,
/// --step-epochs, --gamma, --clip-grad-norm, --seed, --patience, --checkpoint, --resume.
void add_train_flags(CLI::App& command, TrainFlags& flags);

/// The TrainConfig for a run writing `output`: checkpoints go to --checkpoint or OUTPUT.ckpt.
train::TrainConfig train_config(const TrainFlags& flags, const std::string& output);

/// Deletes the default checkpoint files of a finished run (an explicit --checkpoint is kept).
void remove_default_checkpoints(const TrainFlags& flags, const std::string& output);

}  // namespace mopt::cli
