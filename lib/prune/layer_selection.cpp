#include "lib/prune/layer_selection.h"

#include <fmt/format.h>

#include <algorithm>

#include "lib/errors.h"
#include "lib/prune/module_paths.h"
#include "lib/util/strings.h"

namespace mopt::prune {

std::string join_layers(const std::vector<std::string>& layers) {
  // Long enough for every layer of ResNet-18; a MobileNet's list is cut so the message stays readable.
  constexpr size_t kMaxListed = 30;
  std::string text;
  for (size_t i = 0; i < layers.size() && i < kMaxListed; ++i) text += (i ? ", " : "") + layers[i];
  if (layers.size() > kMaxListed) text += fmt::format(", ... ({} more)", layers.size() - kMaxListed);
  return text.empty() ? "(none)" : text;
}

namespace {

// A pattern that matches nothing is almost always a typo; failing beats silently pruning everything.
void check_patterns_match(const std::vector<std::string>& patterns, const char* what,
                          const std::vector<std::string>& layers) {
  for (const auto& pattern : patterns) {
    const bool used =
        std::any_of(layers.begin(), layers.end(), [&](const auto& l) { return glob_matches(pattern, l); });
    if (!used) {
      throw usage_error(fmt::format("{} pattern '{}' matches no prunable layer; the prunable layers are: {}", what,
                                    pattern, join_layers(layers)));
    }
  }
}

}  // namespace

std::vector<std::string> prunable_layers(const torch::jit::Module& module, const LayerSelection& selection) {
  std::vector<std::string> all;
  for (const auto& item : module.named_modules()) {
    if (item.name.empty()) continue;  // the root itself: its output is the model's output
    if (is_prunable_layer(item.value)) all.push_back(item.name);
  }
  if (all.empty()) {
    throw invalid_input("the model has no Conv/Linear layer with a weight parameter to prune (a frozen model keeps its "
                        "weights as graph constants: prune the unfrozen model, then compile)");
  }
  check_patterns_match(selection.include, "include", all);
  check_patterns_match(selection.exclude, "exclude", all);

  std::vector<std::string> kept;
  for (const auto& path : all) {
    if (!selection.include.empty() && !matches_any_glob(selection.include, path)) continue;
    if (matches_any_glob(selection.exclude, path)) continue;
    kept.push_back(path);
  }
  if (kept.empty()) {
    throw usage_error(
        fmt::format("no layer is left to prune after include/exclude; the prunable layers are: {}", join_layers(all)));
  }
  return kept;
}

}  // namespace mopt::prune
