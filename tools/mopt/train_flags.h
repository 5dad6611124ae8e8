#pragma once
// The training flags distill and prune's fine-tuning share (optimizer, schedule, epochs,
// checkpoints), mapped onto lib/train's TrainConfig.
#include <CLI/CLI.hpp>

#include "lib/train/trainer.h"
#include "tools/mopt/common.h"

namespace mopt::cli {

struct TrainFlags {
  train::TrainConfig config;
  std::string checkpoint;  ///< --checkpoint; empty = OUTPUT.ckpt, removed after a successful run
  std::string resume;
  /// Data-parallel flags; unset ones (rank/world size -1, empty address, port 0) come from the
  /// launcher's environment (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT).
  train::DataParallelSpec data_parallel{-1, -1, "", 0};
  int64_t dist_timeout_s = 300;
  std::string device = "cpu";  ///< --device
  std::string amp;             ///< --amp; empty = auto on a GPU, off on the CPU
};

/// Adds --epochs, --batch-size, --optimizer, --lr, --momentum, --weight-decay, --schedule,
/// --step-epochs, --gamma, --clip-grad-norm, --seed, --patience, --checkpoint, --resume, --device,
/// --amp, and the data-parallel flags.
void add_train_flags(CLI::App& command, TrainFlags& flags);

/// Adds --world-size, --rank, --master-addr, --master-port, --dist-timeout.
void add_data_parallel_flags(CLI::App& command, TrainFlags& flags);

/// Resolves the data-parallel settings (flags, then environment) before the run starts. A rank
/// other than 0 prints only errors and writes no report: rank 0 speaks and writes for the run.
void prepare_rank(TrainFlags& flags, CommonArgs& common);

/// The TrainConfig for a run writing `output`: checkpoints go to --checkpoint or OUTPUT.ckpt;
/// a data-parallel run joins its other ranks here.
train::TrainConfig train_config(const TrainFlags& flags, const std::string& output);

/// Deletes the default checkpoint files of a finished run (an explicit --checkpoint is kept; rank 0's job).
void remove_default_checkpoints(const TrainFlags& flags, const std::string& output);

}  // namespace mopt::cli
