#include "lib/quantize/accuracy_target.h"

#include <fmt/format.h>

namespace mopt::quant {
using nlohmann::json;

double accuracy_drop(const json& metrics) {
  if (!metrics["before"].contains("accuracy")) return 0;
  return metrics["before"]["accuracy"]["top1"].get<double>() - metrics["after"]["accuracy"]["top1"].get<double>();
}

bool meets_target(const json& metrics, const AccuracyTarget& target) {
  if (target.max_accuracy_drop && accuracy_drop(metrics) > *target.max_accuracy_drop + 1e-12) return false;
  if (target.min_sqnr_db && metrics["agreement"]["sqnr_db"].get<double>() < *target.min_sqnr_db) return false;
  return true;
}

std::string speedup_clause(const json& metrics) {
  if (!metrics.contains("speedup_p50")) return ", latency not measured";
  return fmt::format(", speedup {:.2f}x", metrics["speedup_p50"].get<double>());
}

size_t chosen_trial(const std::vector<json>& trial_metrics, const AccuracyTarget& target) {
  for (size_t i = 0; i < trial_metrics.size(); ++i) {
    if (meets_target(trial_metrics[i], target)) return i;
  }
  return trial_metrics.size() - 1;
}

json trial_table(const std::vector<std::vector<std::string>>& fp32_layers, const std::vector<json>& trial_metrics,
                 const AccuracyTarget& target, size_t chosen) {
  json rows = json::array();
  for (size_t i = 0; i < trial_metrics.size(); ++i) {
    rows.push_back({{"fp32_layers", fp32_layers[i]},
                    {"accuracy_drop_pt", 100 * accuracy_drop(trial_metrics[i])},
                    {"sqnr_db", trial_metrics[i]["agreement"]["sqnr_db"]},
                    {"speedup_p50", trial_metrics[i].value("speedup_p50", json())},  // null under --no-latency
                    {"meets_target", meets_target(trial_metrics[i], target)},
                    {"chosen", i == chosen}});
  }
  return rows;
}

}  // namespace mopt::quant
