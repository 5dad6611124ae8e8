#include "lib/eval/evaluate.h"

#include <fmt/format.h>
#include <torch/csrc/jit/mobile/import.h>

#include <algorithm>
#include <cmath>

#include "lib/data/dataset.h"
#include "lib/errors.h"
#include "lib/model/aoti_package.h"

namespace mopt {

torch::Tensor run_model(const Model& model, const torch::Tensor& input) { return run_model(model, std::vector<torch::Tensor>{input}); }

torch::Tensor run_model(const Model& model, const std::vector<torch::Tensor>& inputs) {
  c10::InferenceMode guard;
  if (model.is_aoti_package()) {
    auto outputs = model.aoti_package().run(inputs);
    if (outputs.empty()) throw invalid_input("the AOTInductor package returned no tensor");
    return outputs.front();
  }
  auto& module = const_cast<torch::jit::Module&>(model.torchscript());  // forward() is non-const in LibTorch
  torch::jit::IValue output;
  try {
    output = module.forward(std::vector<torch::jit::IValue>(inputs.begin(), inputs.end()));
  } catch (const std::exception& e) {  // c10::Error, or the interpreter's wrapped runtime_error
    // The data does not fit the model (or the model is broken): either way it is the input files.
    const auto& source = model.source_path();
    std::vector<std::string> described;
    for (const auto& input : inputs) described.push_back(fmt::format("{} ({})", fmt::join(input.sizes(), "x"), c10::toString(input.scalar_type())));
    throw invalid_input(fmt::format("the model{} cannot run on inputs of shape {}: {}",
                                    source.empty() ? "" : fmt::format(" '{}'", source.string()),
                                    fmt::join(described, ", "), short_torch_message(e.what())));
  }
  auto tensors = output_tensors(output);
  if (tensors.empty()) throw invalid_input("the model's forward() returned no tensor");
  return tensors.front();
}

torch::Tensor run_model_batched(const Model& model, const std::vector<torch::Tensor>& inputs, int64_t batch_size) {
  std::vector<torch::Tensor> outputs;
  const int64_t n = row_count(inputs);
  for (int64_t start = 0; start < n; start += batch_size) outputs.push_back(run_model(model, slice_rows(inputs, start, start + batch_size)));
  return torch::cat(outputs, 0);
}

OutputComparison compare_outputs(const torch::Tensor& reference, const torch::Tensor& candidate) {
  if (reference.sizes() != candidate.sizes()) {
    throw runtime_failure(fmt::format("output shapes differ: {} vs {}", fmt::join(reference.sizes(), "x"),
                                      fmt::join(candidate.sizes(), "x")));
  }
  auto a = reference.to(torch::kDouble).flatten();
  auto b = candidate.to(torch::kDouble).flatten();
  OutputComparison result;
  result.max_abs_diff = a.numel() == 0 ? 0.0 : (a - b).abs().max().item<double>();
  double norms = a.norm().item<double>() * b.norm().item<double>();
  result.cosine = norms == 0 ? (a.equal(b) ? 1.0 : 0.0) : a.dot(b).item<double>() / norms;
  double noise = (a - b).pow(2).sum().item<double>();
  if (noise > 0) result.sqnr_db = std::min(999.0, 10.0 * std::log10(a.pow(2).sum().item<double>() / noise));
  if ((reference.dim() == 2 || reference.dim() == 4) && reference.numel() > 0) {
    result.top1_agreement = reference.argmax(1).eq(candidate.argmax(1)).to(torch::kDouble).mean().item<double>();
  }
  return result;
}

nlohmann::json agreement_json(const OutputComparison& comparison) {
  return {{"max_abs_diff", comparison.max_abs_diff},
          {"cosine", comparison.cosine},
          {"top1_agreement", comparison.top1_agreement ? nlohmann::json(*comparison.top1_agreement) : nlohmann::json()},
          {"sqnr_db", comparison.sqnr_db}};
}

std::string top1_agreement_text(const nlohmann::json& agreement) {
  const auto& value = agreement.at("top1_agreement");
  if (!value.is_number()) return "top-1 agreement not measured (outputs are not [N, classes] or [N, classes, H, W])";
  return fmt::format("top-1 agreement {:.2f}%", 100 * value.get<double>());
}

OutputComparison compare_lite_outputs(const std::filesystem::path& ptl_path, const Model& reference,
                                      const std::vector<torch::Tensor>& inputs) {
  auto lite = torch::jit::_load_for_mobile(ptl_path.string());
  torch::Tensor output;
  {
    c10::InferenceMode guard;
    output = lite.forward(std::vector<c10::IValue>(inputs.begin(), inputs.end())).toTensor();
  }
  return compare_outputs(run_model(reference, inputs), output);
}

}  // namespace mopt
