#pragma once
// Running TorchScript models on tensors and comparing what they produce. LibTorch executes;
// ONNX models are not executable here (check ONNX outputs with ONNX Runtime, scripts/ort/).
#include <torch/script.h>

#include <filesystem>

#include "lib/model/model.h"

namespace mopt {

/// Runs forward() under inference mode and returns the first tensor output. Requires TorchScript.
torch::Tensor run_model(const Model& model, const torch::Tensor& input);
/// The same for a model taking several inputs, in forward()'s order.
torch::Tensor run_model(const Model& model, const std::vector<torch::Tensor>& inputs);

/// Runs the model over `inputs` (one tensor per model input, in forward()'s order, rows aligned) in
/// batches of `batch_size` and concatenates the outputs.
torch::Tensor run_model_batched(const Model& model, const std::vector<torch::Tensor>& inputs, int64_t batch_size);

/// How close a candidate's outputs are to a reference's on the same inputs.
struct OutputComparison {
  double max_abs_diff = 0;
  double cosine = 1;          ///< cosine similarity of the flattened outputs
  double top1_agreement = 1;  ///< fraction of rows whose argmax agrees (rank-2 outputs)
  double sqnr_db = 999;       ///< 10*log10(|reference|^2 / |reference - candidate|^2), capped at 999
};
OutputComparison compare_outputs(const torch::Tensor& reference, const torch::Tensor& candidate);

/// Runs a `.ptl` file in the lite interpreter (what a phone runs) and compares its output with
/// `reference` on `inputs` (one per forward() input).
OutputComparison compare_lite_outputs(const std::filesystem::path& ptl_path, const Model& reference,
                                      const std::vector<torch::Tensor>& inputs);

}  // namespace mopt
