#pragma once
// Before/after measurement of an optimization in one run, same threads, same inputs: latency of
// the saved artifacts in fresh processes (what `mopt bench` of the files reproduces), accuracy
// (when labels exist) and output agreement.
#include <nlohmann/json.hpp>

#include "lib/data/dataset.h"
#include "lib/eval/fresh_latency.h"
#include "lib/model/model.h"

#include <filesystem>
#include <string>

namespace mopt {

/// How much work the comparison does.
struct ComparisonSettings {
  int64_t eval_batch = 256;  ///< batch for accuracy/agreement passes over the data
  int warmup = 10;           ///< latency warm-up calls in each fresh process (excluded)
  int iterations = 50;       ///< timed calls per model, batch 1, split over the fresh-process rounds
  int threads = 0;           ///< threads of the timed runs; 0 = those in effect
  /// When either file maps over kFreshMemoryHintMb afresh per call, time both again with the
  /// allocator thresholds a deploying process can set (`allocator_check` in the result). For the
  /// comparisons a command reports, not for --keep-if-faster's trials, which stay on the defaults.
  bool allocator_check = false;
  /// false (--no-latency): outputs, accuracy and agreement only. Timing is most of a conversion's
  /// run time (fresh child processes per file), which batch conversions may not want to pay.
  bool time_latency = true;
  /// "cpu", or the GPU both models run on ("cuda:0"): outputs are computed there and the fresh
  /// processes run `mopt bench --device` (CUDA events). Resolve it first (lib/runtime/cuda.h).
  std::string device = "cpu";
};

/// Whether compare_files() timed the files: false under --no-latency, when the result has no
/// latency figures and no speedup_p50, and its latency_measurement says why.
inline bool latency_measured(const nlohmann::json& comparison) { return comparison.contains("speedup_p50"); }

/// latency_measurement.method of a comparison made under --no-latency, and what its latency row says.
constexpr const char* kNoLatencyReason = "not measured (--no-latency)";

/// Below this output cosine against the input model a rewrite has changed what the model computes
/// (not just rounded it): the commands warn, and --keep-if-faster drops the pass.
constexpr double kAgreementCosineFloor = 0.999;

/// True when `agreement` (compare_files()'s) is below kAgreementCosineFloor.
inline bool outputs_changed(const nlohmann::json& agreement) {
  return agreement["cosine"].get<double>() < kAgreementCosineFloor;
}

/// Compares two saved models, each run where it is deployed (TorchScript in LibTorch, .onnx in
/// ONNX Runtime). Returns {before: {latency: {p50_ms, ...}, page_faults_per_call, process_p50_ms:
/// [one per fresh process], process_spread: slowest/fastest of those, accuracy?: {top1}}, after: {...},
/// agreement: {max_abs_diff, cosine, top1_agreement, sqnr_db}, speedup_p50, samples, data,
/// runtime: {before, after}, latency_measurement: {...}, allocator_check?: {status, reason?,
/// settings?, before?, after?, speedup_p50?}}. Latency is timed on the first sample (batch 1) by
/// `mopt bench` in fresh child processes, alternating before/after rounds.
nlohmann::json compare_files(const std::filesystem::path& before, const std::filesystem::path& after,
                             const Dataset& data, const ComparisonSettings& settings);

/// compare_files()'s `allocator_check` when it measured the files with tuned thresholds, else nullptr.
const nlohmann::json* tuned_allocator_figures(const nlohmann::json& comparison);

/// "; N.NNx with the allocator thresholds a deploying process can set" when compare_files() timed
/// the files that way too (allocator_check measured), else "": for the warnings about a slower file.
std::string tuned_allocator_clause(const nlohmann::json& comparison);

/// The fresh-process timing compare_files() does for `settings` (threads 0 = those in effect).
FreshLatencySettings fresh_timing(const ComparisonSettings& settings);

/// compare_files() of two in-memory models, saved first as a user would get them.
nlohmann::json compare_models(const Model& before, const Model& after, const Dataset& data,
                              const ComparisonSettings& settings);

}  // namespace mopt
