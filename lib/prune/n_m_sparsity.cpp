// N:M semi-structured masks (n_m_masks, declared in unstructured.h).
//
// Sparse tensor cores (NVIDIA 2:4) skip zeros along the GEMM's reduction dimension, which for a
// convolution is the input channels at each kernel position. So the weight is permuted to put
// the input-channel dim innermost, cut into runs of m, and the n largest |w| of each run kept:
//   Conv [O, I, kh, kw] -> [O, kh, kw, I] -> [O*kh*kw*I/m, m]
//   Linear [O, I]       -> [O*I/m, m]
//   ConvTranspose [I, O/g, k..] reduces over dim 0 -> [O/g, k.., I] -> [.., m]
#include <fmt/format.h>

#include <numeric>

#include "lib/errors.h"
#include "lib/prune/module_paths.h"
#include "lib/prune/unstructured.h"

namespace mopt::prune {

namespace {

// The permutation that moves `input_dim` to the end, keeping the other dims in order.
std::vector<int64_t> input_dim_last(int64_t rank, int64_t input_dim) {
  std::vector<int64_t> order;
  for (int64_t d = 0; d < rank; ++d) {
    if (d != input_dim) order.push_back(d);
  }
  order.push_back(input_dim);
  return order;
}

std::vector<int64_t> inverse(const std::vector<int64_t>& permutation) {
  std::vector<int64_t> result(permutation.size());
  for (size_t i = 0; i < permutation.size(); ++i) result[permutation[i]] = static_cast<int64_t>(i);
  return result;
}

}  // namespace

Masks n_m_masks(const torch::jit::Module& module, const std::vector<std::string>& layers, int n, int m) {
  if (n < 1 || n >= m) throw usage_error(fmt::format("N:M sparsity needs 1 <= n < m (got {}:{})", n, m));
  torch::NoGradGuard no_grad;
  Masks masks;
  for (const auto& layer : layers) {
    const auto sub = submodule_at(module, layer);
    if (!is_prunable_layer(sub))
      throw usage_error(fmt::format("'{}' is not a Conv or Linear layer with a weight", layer));
    const auto weight = tensor_attr(sub, "weight").detach();
    const int64_t input_dim = is_transposed_conv(sub) ? 0 : 1;
    const int64_t inputs = weight.size(input_dim);
    if (inputs % m != 0) {
      throw usage_error(
          fmt::format("{}:{} sparsity needs the input dimension to be a multiple of {}, but layer '{}' "
                      "has {} inputs (weight {}); exclude it",
                      n, m, m, layer, inputs, fmt::join(weight.sizes(), "x")));
    }
    const auto order = input_dim_last(weight.dim(), input_dim);
    const auto runs = weight.abs().to(torch::kFloat).permute(order).contiguous();
    const auto permuted_shape = runs.sizes().vec();
    const auto grouped = runs.reshape({-1, m});
    // Stable descending sort: among equal magnitudes the earlier weight is kept.
    const auto top = std::get<1>(torch::sort(grouped, /*stable=*/true, /*dim=*/1, /*descending=*/true)).slice(1, 0, n);
    auto keep = torch::zeros(grouped.sizes(), torch::kBool);
    keep.scatter_(1, top, true);
    masks[layer] = keep.reshape(permuted_shape).permute(inverse(order)).contiguous();
  }
  return masks;
}

}  // namespace mopt::prune
