#pragma once
// `mopt prune` as a library call: prune a TorchScript model (magnitude, N:M or channel), optionally
// fine-tune it with the shared training loop (gradual schedule, teacher soft targets), and measure
// what it did to parameters, MACs, file size (raw and compressed), latency and accuracy in one run.
#include <nlohmann/json.hpp>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "lib/data/dataset.h"
#include "lib/eval/model_comparison.h"
#include "lib/model/model.h"
#include "lib/prune/layer_selection.h"
#include "lib/report/report.h"
#include "lib/train/trainer.h"

namespace mopt::prune {

/// Channel multiple when neither --round-to nor a profile says: 8 fills AVX2's 8 fp32 lanes and two
/// NEON registers, and is half an AVX-512 vector; the same on every host, so a run is reproducible.
constexpr int64_t kDefaultRoundTo = 8;

struct PruneRequest {
  std::string method = "magnitude";  ///< magnitude, channel, or N:M such as "2:4"
  double amount = 0.5;               ///< fraction of weights (magnitude) or channels (channel)
  bool global = false;               ///< magnitude: one threshold across all selected layers
  std::string amounts_file;          ///< magnitude: per-layer amounts, JSON {"layer or glob": amount}
  int norm = 1;                      ///< channel: 1 = L1, 2 = L2 filter norm
  int64_t round_to = kDefaultRoundTo;  ///< channel: kept counts rounded to a multiple of this; 1 = off
  LayerSelection selection;
  std::string schedule;               ///< "" = one shot; cubic or linear = gradual during fine-tuning
  int64_t schedule_steps = 10;        ///< gradual: number of pruning steps spread over fine-tuning
  double initial_sparsity = 0;        ///< gradual: sparsity of the first step
  Dataset finetune;                   ///< empty = no fine-tuning
  std::optional<Model> teacher;       ///< fine-tune against its soft targets
  std::optional<Model> reference;     ///< what the result is measured against, if not the input (as_given)
  double temperature = 3, alpha = 0.7;
  train::TrainConfig train;
  Dataset eval;                       ///< accuracy (with labels) and agreement; its first row times latency
  ComparisonSettings comparison;
  bool onnx_output = false;           ///< export the pruned model to ONNX (the default opset) and time it in ONNX Runtime
};

struct PruneOutcome {
  Model model;
  nlohmann::json layers = nlohmann::json::array();  ///< per layer: shapes, sparsity, parameters removed
  nlohmann::json groups = nlohmann::json::array();  ///< channel: every channel group, pruned or why not
  nlohmann::json totals;                            ///< parameters, MACs, bytes and gzip bytes before/after
  nlohmann::json comparison;                        ///< compare_models(): latency, accuracy, agreement
  nlohmann::json finetune;                          ///< the training curve, when fine-tuned
  std::vector<std::string> notes;                   ///< what the figures do and do not mean
};

/// What `mopt prune` writes, and the gate it judges the result by.
struct PruneJob {
  std::string output;
  std::optional<double> max_accuracy_drop;  ///< accuracy points; a larger drop writes nothing (exit 3)
  std::string round_to_source = "default";  ///< channel: where round_to came from (default, flag or profile)
  std::string profile;                      ///< the profile it came from
};

/// Checks the request (usage_error: bad amount, N:M text, schedule without fine-tuning data, ...).
void validate_request(const PruneRequest& request);

/// Prunes a copy of `input` (left untouched) and measures before/after.
PruneOutcome run_prune(const Model& input, const PruneRequest& request);

/// `mopt prune` as a library call: run_prune(), then on the main rank (the others return after
/// training) fills `report` (metrics, details.pruning), shows the outcome through `present`,
/// enforces job.max_accuracy_drop and writes job.output atomically, recording how it was made.
PruneOutcome run_prune_job(const Model& input, const PruneRequest& request, const PruneJob& job, Report& report,
                           const std::function<void(const PruneOutcome&)>& present);

/// Parses "2:4" into {2, 4}; usage_error unless 1 <= n < m.
std::pair<int, int> parse_n_m(const std::string& text);

/// Size in bytes of `bytes` after DEFLATE at gzip's default level (where zeros pay off).
int64_t compressed_size(const std::string& bytes);

}  // namespace mopt::prune
