#pragma once
// Training checkpoints: model weights and buffers, extra parameters, optimizer state, the
// global RNG state and the loop's own position and history, in one LibTorch archive written
// atomically (a crash or Ctrl-C never leaves a half-written checkpoint in place).
#include <torch/optim.h>
#include <torch/script.h>

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace mopt::train {

/// Named copies of a module's parameters and buffers ("param.fc.weight", "buffer.bn.running_mean").
using WeightSnapshot = std::map<std::string, torch::Tensor>;

/// Copies (not views) of the model's current parameters and buffers.
WeightSnapshot snapshot_weights(const torch::jit::Module& model);

/// Writes a snapshot back into the model in place (optimizer references stay valid); a missing
/// name or a shape mismatch is invalid_input: the snapshot belongs to another model.
void restore_weights(torch::jit::Module& model, const WeightSnapshot& snapshot);

/// Everything a checkpoint holds besides the optimizer.
struct CheckpointContents {
  WeightSnapshot weights;
  std::vector<torch::Tensor> extra_parameters;
  WeightSnapshot best_weights;  ///< empty until a validation improved
  torch::Tensor rng_state;      ///< the default CPU generator (dropout)
  nlohmann::json loop_state;    ///< epoch, batch, step, history, accumulators, run fingerprint
};

void save_checkpoint(const std::filesystem::path& path, const CheckpointContents& contents,
                     const torch::optim::Optimizer& optimizer);

/// Reads a checkpoint; the optimizer's state is loaded in place. invalid_input when the file is
/// missing, corrupt or not a mopt checkpoint.
CheckpointContents load_checkpoint(const std::filesystem::path& path, torch::optim::Optimizer& optimizer);

/// The default CPU generator's state, and setting it back (exact resume of dropout masks).
torch::Tensor global_rng_state();
void set_global_rng_state(const torch::Tensor& state);

}  // namespace mopt::train
