#pragma once
// Optimizers for the shared training loop (distill, prune fine-tuning): LibTorch's C++ Adam,
// AdamW and SGD, built from the CLI's flags.
#include <torch/optim.h>

#include <memory>
#include <string>
#include <vector>

namespace mopt::train {

/// What --optimizer/--lr/--momentum/--weight-decay ask for.
struct OptimizerSpec {
  std::string name = "adam";  ///< adam, adamw or sgd
  double lr = 1e-3;
  double momentum = 0.9;      ///< sgd only
  double weight_decay = 0;    ///< L2 for adam/sgd, decoupled for adamw
};

/// Builds the optimizer over `parameters`; an unknown name is a usage_error (numbers are checked by
/// validate_config, before any work).
std::unique_ptr<torch::optim::Optimizer> make_optimizer(const std::vector<torch::Tensor>& parameters,
                                                        const OptimizerSpec& spec);

/// Sets the learning rate of every parameter group (schedules call this before each step).
void set_learning_rate(torch::optim::Optimizer& optimizer, double lr);

}  // namespace mopt::train
