// Per-layer pruning amounts from a JSON file (read_layer_amounts, declared in unstructured.h).
#include <fmt/format.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "lib/errors.h"
#include "lib/prune/layer_selection.h"
#include "lib/prune/unstructured.h"
#include "lib/util/strings.h"

namespace mopt::prune {

std::map<std::string, double> read_layer_amounts(const std::filesystem::path& path,
                                                 const std::vector<std::string>& layers) {
  std::ifstream file(path);
  if (!file) throw invalid_input(fmt::format("cannot read layer amounts file '{}'", path.string()));
  std::stringstream text;
  text << file.rdbuf();
  // ordered_json keeps the file's key order, which decides between overlapping globs.
  nlohmann::ordered_json json;
  try {
    json = nlohmann::ordered_json::parse(text.str());
  } catch (const nlohmann::json::exception& e) {
    throw invalid_input(fmt::format("'{}' is not valid JSON: {}", path.string(), e.what()));
  }
  if (!json.is_object()) {
    throw invalid_input(fmt::format("'{}' must hold a JSON object {{\"layer or glob\": amount}}", path.string()));
  }

  std::map<std::string, double> amounts;
  std::map<std::string, bool> set_exactly;
  for (const auto& [key, value] : json.items()) {
    if (!value.is_number()) {
      throw usage_error(fmt::format("amount for '{}' in '{}' must be a number in [0, 1)", key, path.string()));
    }
    const double amount = value.get<double>();
    if (!(amount >= 0.0 && amount < 1.0)) {
      throw usage_error(fmt::format("amount for '{}' in '{}' must be in [0, 1) (got {})", key, path.string(), amount));
    }
    bool matched = false;
    for (const auto& layer : layers) {
      if (layer == key) {
        amounts[layer] = amount;
        set_exactly[layer] = true;
        matched = true;
      } else if (glob_matches(key, layer)) {
        if (!set_exactly[layer]) amounts[layer] = amount;
        matched = true;
      }
    }
    if (!matched) {
      throw usage_error(fmt::format("'{}' in '{}' matches no prunable layer; the prunable layers are: {}", key,
                                    path.string(), join_layers(layers)));
    }
  }
  return amounts;
}

}  // namespace mopt::prune
