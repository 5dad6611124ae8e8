#include "lib/eval/on_device.h"

#include <fmt/format.h>

#include <sstream>

#include "lib/errors.h"
#include "lib/eval/evaluate.h"

namespace mopt {

Model model_on_device(const Model& model, c10::Device device) {
  if (!model.is_torchscript()) {
    throw usage_error("--device cuda runs TorchScript and ONNX models; an AOTInductor package runs on the device "
                      "it was compiled for");
  }
  std::stringstream buffer;
  model.torchscript().save(buffer);
  try {
    return Model::from_torchscript(torch::jit::load(buffer, device));
  } catch (const c10::Error& e) {
    throw invalid_input(fmt::format("the model does not load on {}: {}", device.str(), short_torch_message(e.what())));
  }
}

torch::Tensor run_on_device(const Model& model, const std::vector<torch::Tensor>& inputs, c10::Device device,
                            int64_t batch_size) {
  std::vector<torch::Tensor> on_device;
  for (const auto& input : inputs) on_device.push_back(input.to(device));
  return run_model_batched(model, on_device, batch_size).to(c10::kCPU);  // the copy back waits for the GPU
}

}  // namespace mopt
