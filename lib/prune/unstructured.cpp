// Magnitude masks (per layer and global), applying masks, and the amount checks.
#include "lib/prune/unstructured.h"

#include <fmt/format.h>

#include <cmath>

#include "lib/errors.h"
#include "lib/prune/module_paths.h"

namespace mopt::prune {

namespace {

torch::Tensor layer_weight(const torch::jit::Module& module, const std::string& layer) {
  const auto sub = submodule_at(module, layer);
  if (!is_prunable_layer(sub)) {
    throw usage_error(fmt::format("'{}' is not a Conv or Linear layer with a weight", layer));
  }
  return tensor_attr(sub, "weight").detach();
}

// Marks the `count` smallest entries of `magnitudes` (1-d) as pruned. A stable sort makes ties
// go to the lower index, so the same model always gives the same mask.
torch::Tensor keep_mask_without_smallest(const torch::Tensor& magnitudes, int64_t count) {
  auto keep = torch::ones(magnitudes.sizes(), torch::kBool);
  if (count <= 0) return keep;
  const auto order = std::get<1>(torch::sort(magnitudes, /*stable=*/true, /*dim=*/0, /*descending=*/false));
  keep.index_put_({order.slice(0, 0, count)}, false);
  return keep;
}

int64_t rounded_count(double amount, int64_t total) {
  return std::min<int64_t>(total, std::llround(amount * static_cast<double>(total)));
}

}  // namespace

void check_amount(double amount) {
  if (!(amount > 0.0 && amount < 1.0)) {
    throw usage_error(fmt::format("amount must be a fraction with 0 < amount < 1 (got {})", amount));
  }
}

Masks magnitude_masks(const torch::jit::Module& module, const std::vector<std::string>& layers,
                      const std::map<std::string, double>& amount_per_layer) {
  torch::NoGradGuard no_grad;
  Masks masks;
  for (const auto& layer : layers) {
    const auto found = amount_per_layer.find(layer);
    if (found == amount_per_layer.end())
      throw usage_error(fmt::format("no pruning amount given for layer '{}'", layer));
    const double amount = found->second;
    if (!(amount >= 0.0 && amount < 1.0)) {
      throw usage_error(fmt::format("amount for layer '{}' must be in [0, 1) (got {})", layer, amount));
    }
    const auto weight = layer_weight(module, layer);
    const auto flat = weight.abs().reshape({-1}).to(torch::kFloat);
    masks[layer] = keep_mask_without_smallest(flat, rounded_count(amount, flat.numel())).reshape(weight.sizes());
  }
  return masks;
}

Masks global_magnitude_masks(const torch::jit::Module& module, const std::vector<std::string>& layers, double amount) {
  check_amount(amount);
  if (layers.empty()) throw usage_error("global magnitude pruning needs at least one layer");
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> weights;
  std::vector<torch::Tensor> flats;
  for (const auto& layer : layers) {
    weights.push_back(layer_weight(module, layer));
    flats.push_back(weights.back().abs().reshape({-1}).to(torch::kFloat));
  }
  // One sort over the concatenation is exact (no threshold ties to resolve afterwards).
  const auto all = torch::cat(flats);
  const auto keep = keep_mask_without_smallest(all, rounded_count(amount, all.numel()));
  Masks masks;
  int64_t offset = 0;
  for (size_t i = 0; i < layers.size(); ++i) {
    const int64_t n = flats[i].numel();
    masks[layers[i]] = keep.slice(0, offset, offset + n).reshape(weights[i].sizes()).clone();
    offset += n;
  }
  return masks;
}

void apply_masks(torch::jit::Module& module, const Masks& masks) {
  torch::NoGradGuard no_grad;
  for (const auto& [layer, mask] : masks) {
    auto weight = tensor_attr(submodule_at(module, layer), "weight");
    if (!weight.defined() || weight.sizes() != mask.sizes()) {
      throw runtime_failure(fmt::format("mask for layer '{}' does not match its weight's shape", layer));
    }
    weight.mul_(mask.to(weight.device()));
  }
}

double sparsity(const torch::Tensor& tensor) {
  if (!tensor.defined() || tensor.numel() == 0) return 0.0;
  return (tensor == 0).sum().item<double>() / static_cast<double>(tensor.numel());
}

}  // namespace mopt::prune
