#include "passes/quantize/observer_diagnosis.h"

#include <algorithm>

namespace mopt::quant {

std::vector<std::string> modules_failing_observers(const torch::jit::Module& module, const torch::jit::QConfig& qconfig,
                                                   torch::jit::QuantType type, size_t limit) {
  std::vector<std::pair<std::string, torch::jit::Module>> candidates;
  for (const auto& item : module.named_modules()) {
    if (!item.name.empty() && item.value.find_method("forward")) candidates.emplace_back(item.name, item.value);
  }
  std::vector<size_t> order(candidates.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  // Deepest first, so a failing leaf is found before its parents (which fail through it).
  auto depth = [&](size_t i) { return std::count(candidates[i].first.begin(), candidates[i].first.end(), '.'); };
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return depth(a) > depth(b); });

  std::vector<size_t> failing;
  for (size_t i : order) {
    // Not a structured binding: lambdas may not capture those before C++20 (clang refuses).
    const auto& name = candidates[i].first;
    const auto& submodule = candidates[i].second;
    const bool parent_of_failing = std::any_of(failing.begin(), failing.end(), [&](size_t f) {
      return candidates[f].first.rfind(name + ".", 0) == 0;
    });
    if (parent_of_failing) continue;
    try {
      auto handle = submodule;  // inplace=false: the pass works on a clone
      torch::jit::InsertObservers(handle, "forward", {{"", qconfig}}, /*inplace=*/false, type);
    } catch (const std::exception&) {
      failing.push_back(i);
      if (failing.size() >= limit) break;
    }
  }
  std::sort(failing.begin(), failing.end());  // module order
  std::vector<std::string> names;
  for (size_t i : failing) names.push_back(candidates[i].first);
  return names;
}

}  // namespace mopt::quant
