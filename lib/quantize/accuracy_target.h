#pragma once
// The accuracy target of `mopt quantize` (--max-accuracy-drop, --min-sqnr) and its fallback trials,
// shared by the TorchScript and the ONNX workflows: each trial returns one more layer (or node) to
// fp32, and the first trial that meets the target is the one written.
#include <nlohmann/json.hpp>

#include <optional>
#include <string>
#include <vector>

namespace mopt::quant {

/// What the quantized model must keep, measured against fp32 by compare_files().
struct AccuracyTarget {
  std::optional<double> max_accuracy_drop;  ///< as a fraction: 0.005 = 0.5 points
  std::optional<double> min_sqnr_db;        ///< output SQNR vs fp32
  bool active() const { return max_accuracy_drop || min_sqnr_db; }
};

/// top-1 before minus after (a fraction), 0 without labels.
double accuracy_drop(const nlohmann::json& metrics);

/// Whether compare_files() metrics meet the target (always, for an inactive target).
bool meets_target(const nlohmann::json& metrics, const AccuracyTarget& target);

/// ", speedup 1.23x" for a trial's log line, or ", latency not measured" under --no-latency.
std::string speedup_clause(const nlohmann::json& metrics);

/// Index of the trial to write: the first that meets the target, else the last one tried.
size_t chosen_trial(const std::vector<nlohmann::json>& trial_metrics, const AccuracyTarget& target);

/// The report's `trials` list: per trial the layers in fp32, accuracy drop, SQNR, speedup, verdict.
nlohmann::json trial_table(const std::vector<std::vector<std::string>>& fp32_layers, const std::vector<nlohmann::json>& trial_metrics,
                           const AccuracyTarget& target, size_t chosen);

}  // namespace mopt::quant
