#include "lib/prune/slow_convolutions.h"

#include <fmt/format.h>

#include "lib/bench/op_profile.h"
#include "lib/eval/evaluate.h"

namespace mopt {
namespace {

// The op records of one profiled call, labelled with module paths and input shapes.
std::vector<ProfiledEvent> profiled_ops(const std::function<void()>& call) {
  auto capture = capture_op_profile(call, 1);
  std::vector<ProfiledEvent> ops;
  for (auto& event : capture.events) {
    if (event.is_op) ops.push_back(std::move(event));
  }
  return ops;
}

}  // namespace

std::vector<std::string> slow_path_convolutions(const Model& model, const std::vector<torch::Tensor>& inputs) {
  if (model.format() != ModelFormat::kTorchScript) return {};
  std::vector<std::string> found;
  for (const auto& op : profiled_ops([&] { run_model(model, inputs); })) {
    if (op.name != "aten::_slow_conv2d_forward") continue;
    const auto input_shape = op.shapes.empty() ? std::string("?") : fmt::format("{}", fmt::join(op.shapes[0], "x"));
    found.push_back(fmt::format("{} (input {})", module_path_text(op.module_path), input_shape));
  }
  return found;
}

std::map<std::string, std::vector<int64_t>> convolution_input_shapes(const torch::jit::Module& module,
                                                                     const std::vector<torch::Tensor>& inputs) {
  std::vector<c10::IValue> arguments(inputs.begin(), inputs.end());
  std::map<std::string, std::vector<int64_t>> shapes;
  torch::NoGradGuard no_grad;
  for (const auto& op : profiled_ops([&] { module.get_method("forward")(arguments); })) {
    if (op.name == "aten::_convolution" && !op.shapes.empty()) shapes[module_path_text(op.module_path)] = op.shapes[0];
  }
  return shapes;
}

}  // namespace mopt
