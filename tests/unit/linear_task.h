#pragma once
// A learnable synthetic classification task and a TorchScript linear classifier, shared by the
// training and distillation tests.
#include <ATen/CPUGeneratorImpl.h>
#include <torch/script.h>

#include "lib/data/dataset.h"

namespace mopt::test {

/// Labels are the argmax of a fixed random linear map (chosen by `task`) of the inputs (drawn from `seed`).
inline Dataset linear_task(int64_t rows, int64_t features, int64_t classes, uint64_t seed, uint64_t task = 99) {
  auto map = torch::randn({features, classes}, at::make_generator<at::CPUGeneratorImpl>(task));
  Dataset data;
  data.inputs = torch::randn({rows, features}, at::make_generator<at::CPUGeneratorImpl>(seed));
  data.labels = data.inputs.matmul(map).argmax(1);
  return data;
}

/// A linear classifier defined in TorchScript, `outputs` wide, with trainable parameters.
inline torch::jit::Module linear_model(int64_t inputs, int64_t outputs) {
  torch::jit::Module model("LinearStudent");
  model.register_parameter("weight", (torch::randn({outputs, inputs}) * 0.01).requires_grad_(), false);
  model.register_parameter("bias", torch::zeros({outputs}).requires_grad_(), false);
  model.define(R"(
    def forward(self, x):
        return torch.matmul(x, self.weight.t()) + self.bias
  )");
  return model;
}

}  // namespace mopt::test
