#include "lib/prune/slow_convolutions.h"

#include <fmt/format.h>

#include "lib/bench/op_profile.h"
#include "lib/eval/evaluate.h"

namespace mopt {

std::vector<std::string> slow_path_convolutions(const Model& model, const std::vector<torch::Tensor>& inputs) {
  if (model.format() != ModelFormat::kTorchScript) return {};
  const auto capture = capture_op_profile([&] { run_model(model, inputs); }, 1);
  std::vector<std::string> found;
  for (const auto& event : capture.events) {
    if (!event.is_op || event.name != "aten::_slow_conv2d_forward") continue;
    const auto input_shape = event.shapes.empty() ? std::string("?") : fmt::format("{}", fmt::join(event.shapes[0], "x"));
    found.push_back(fmt::format("{} (input {})", module_path_text(event.module_path), input_shape));
  }
  return found;
}

}  // namespace mopt
