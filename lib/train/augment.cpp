#include "lib/train/augment.h"

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>

#include <sstream>
#include <vector>

#include "lib/errors.h"

namespace mopt::train {
namespace {

// Translates each image by (dy, dx) in [-max, max], filling uncovered pixels with the image's own
// minimum (the background of normalized photos and scans, where zero would be a grey frame).
torch::Tensor random_shift(const torch::Tensor& x, int64_t max_shift, at::Generator& generator) {
  const int64_t n = x.size(0), h = x.size(2), w = x.size(3), pad = max_shift;
  const auto fill = std::get<0>(x.flatten(1).min(1)).view({n, 1, 1, 1});
  auto padded = fill.expand({n, x.size(1), h + 2 * pad, w + 2 * pad}).clone();
  padded.narrow(2, pad, h).narrow(3, pad, w).copy_(x);
  const auto offsets = torch::randint(0, 2 * pad + 1, {n, 2}, generator, torch::kLong);
  const auto* o = offsets.data_ptr<int64_t>();
  auto out = torch::empty_like(x);
  for (int64_t i = 0; i < n; ++i) out[i].copy_(padded[i].narrow(1, o[2 * i], h).narrow(2, o[2 * i + 1], w));
  return out;
}

torch::Tensor random_flip(const torch::Tensor& x, at::Generator& generator) {
  const auto flip = torch::rand({x.size(0)}, generator) < 0.5;
  return torch::where(flip.view({-1, 1, 1, 1}), x.flip({3}), x);
}

// Beta(a, a) as G1 / (G1 + G2) with Gi ~ Gamma(a); folded to >= 0.5 so each mixed row keeps its
// own label as the dominant one.
double mixup_lambda(double alpha, at::Generator& generator) {
  const auto g = at::_standard_gamma(torch::full({2}, alpha, torch::kDouble), generator);
  const double lambda = g[0].item<double>() / (g[0].item<double>() + g[1].item<double>());
  return std::max(lambda, 1 - lambda);
}

}  // namespace

std::string AugmentSpec::describe() const {
  std::vector<std::string> parts;
  if (shift) parts.push_back(fmt::format("shift({}px)", max_shift));
  if (flip) parts.push_back("flip");
  if (mixup_alpha > 0) parts.push_back(fmt::format("mixup({})", mixup_alpha));
  return parts.empty() ? "none" : fmt::format("{}", fmt::join(parts, "+"));
}

nlohmann::json AugmentSpec::to_json() const {
  return {{"shift", shift}, {"max_shift", max_shift}, {"flip", flip}, {"mixup_alpha", mixup_alpha}};
}

AugmentSpec parse_augment(const std::string& list, int64_t max_shift, double mixup_alpha) {
  AugmentSpec spec;
  std::stringstream items(list);
  for (std::string item; std::getline(items, item, ',');) {
    if (item == "shift") spec.shift = true;
    else if (item == "flip") spec.flip = true;
    else if (item != "none" && !item.empty())
      throw usage_error(fmt::format("--augment takes shift, flip or none (comma-separated), not '{}'", item));
  }
  if (max_shift < 1) throw usage_error("--max-shift must be at least 1 pixel");
  if (mixup_alpha < 0) throw usage_error("--mixup must be >= 0 (0 = off)");
  spec.max_shift = max_shift;
  spec.mixup_alpha = mixup_alpha;
  return spec;
}

AugmentedInputs augment_batch(const torch::Tensor& inputs, const AugmentSpec& spec, uint64_t seed, int64_t step,
                              int64_t shard) {
  AugmentedInputs out{inputs, {}, 1};
  if (!spec.any()) return out;
  auto generator = at::make_generator<at::CPUGeneratorImpl>(seed * 2654435761ULL + static_cast<uint64_t>(step) + 17 +
                                                             static_cast<uint64_t>(shard) * 0x9E3779B97F4A7C15ULL);
  torch::NoGradGuard no_grad;
  if (inputs.dim() == 4) {
    if (spec.shift) out.inputs = random_shift(out.inputs, spec.max_shift, generator);
    if (spec.flip) out.inputs = random_flip(out.inputs, generator);
  }
  if (spec.mixup_alpha > 0 && inputs.size(0) > 1) {
    out.lambda = mixup_lambda(spec.mixup_alpha, generator);
    out.partner = torch::randperm(inputs.size(0), generator, torch::kLong);
    out.inputs = out.lambda * out.inputs + (1 - out.lambda) * out.inputs.index_select(0, out.partner);
  }
  return out;
}

}  // namespace mopt::train
