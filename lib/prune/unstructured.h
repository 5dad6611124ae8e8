#pragma once
// Unstructured and N:M sparsity: masks that zero individual weights of Conv/Linear layers. The
// tensors keep their shapes; the zeros pay off in file size (compressed) or on sparse kernels.
#include <torch/script.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace mopt::prune {

/// Layer path -> bool mask shaped like the layer's weight (true = keep).
using Masks = std::map<std::string, torch::Tensor>;

/// Per layer, marks the round(amount * numel) smallest |w| for pruning (L1 magnitude); ties go to
/// the lower flat index. Every layer needs an entry in `amount_per_layer` (0 <= amount < 1).
Masks magnitude_masks(const torch::jit::Module& module, const std::vector<std::string>& layers,
                      const std::map<std::string, double>& amount_per_layer);

/// One magnitude threshold across all `layers` (like torch.nn.utils.prune.global_unstructured with
/// L1Unstructured): exactly round(amount * total weights) are pruned; ties go to the earlier layer,
/// then the lower flat index.
Masks global_magnitude_masks(const torch::jit::Module& module, const std::vector<std::string>& layers, double amount);

/// N:M semi-structured masks: in every run of m consecutive weights along the input (reduction)
/// dimension, keeps the n largest |w| (NVIDIA 2:4 is n=2, m=4). Conv [O,I,k..] is grouped along I
/// for each (o, k..) position; Linear [O,I] along I. usage_error if n < 1, n >= m, or m does not
/// divide a layer's input dimension.
Masks n_m_masks(const torch::jit::Module& module, const std::vector<std::string>& layers, int n, int m);

/// Multiplies each layer's weight by its mask in place (no autograd record).
void apply_masks(torch::jit::Module& module, const Masks& masks);

/// Fraction of exact zeros in a tensor (0 for an empty tensor).
double sparsity(const torch::Tensor& tensor);

/// usage_error unless 0 < amount < 1 (the fraction of weights or channels to remove).
void check_amount(double amount);

/// Reads per-layer amounts from a JSON object {"layer or glob": amount}. Every key must match at
/// least one of `layers`; an exact layer name beats globs, and among globs the later key wins.
/// Layers no key matches are absent from the result. invalid_input for an unreadable file or bad
/// JSON; usage_error for an amount outside [0, 1) or a key that matches no layer.
std::map<std::string, double> read_layer_amounts(const std::filesystem::path& path,
                                                 const std::vector<std::string>& layers);

/// Target sparsity at `step` of gradual pruning over `steps` steps, from `initial` to `final`.
/// kind "cubic" (Zhu & Gupta 2017): final + (initial - final) * (1 - step/steps)^3; "linear":
/// straight line. `step` is clamped to [0, steps]; steps == 0 gives `final`. usage_error on an
/// unknown kind, negative steps, or sparsities outside [0, 1).
double scheduled_sparsity(int64_t step, int64_t steps, double initial, double final, const std::string& kind);

}  // namespace mopt::prune
