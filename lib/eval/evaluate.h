#pragma once
// Running TorchScript models on tensors and comparing what they produce. LibTorch executes;
// ONNX models are not executable here (check ONNX outputs with ONNX Runtime, lib/runtime/ort/).
#include <nlohmann/json.hpp>
#include <torch/script.h>

#include <filesystem>
#include <optional>
#include <string>

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
  /// Fraction of predictions (argmax over dim 1, the class dim) that agree: rows of [N, classes]
  /// logits, pixels of [N, classes, H, W] maps. Unset for outputs of other ranks, where dim 1 is
  /// not known to hold classes (a transformer's [N, tokens, features]).
  std::optional<double> top1_agreement;
  double sqnr_db = 999;       ///< 10*log10(|reference|^2 / |reference - candidate|^2), capped at 999
};
OutputComparison compare_outputs(const torch::Tensor& reference, const torch::Tensor& candidate);

/// {max_abs_diff, cosine, top1_agreement (null when unset), sqnr_db}: a report's "agreement".
nlohmann::json agreement_json(const OutputComparison& comparison);

/// "top-1 agreement 99.50%", or why there is none, from a report's "agreement".
std::string top1_agreement_text(const nlohmann::json& agreement);

/// Runs a `.ptl` file in the lite interpreter (what a phone runs) and compares its output with
/// `reference` on `inputs` (one per forward() input).
OutputComparison compare_lite_outputs(const std::filesystem::path& ptl_path, const Model& reference,
                                      const std::vector<torch::Tensor>& inputs);

}  // namespace mopt
