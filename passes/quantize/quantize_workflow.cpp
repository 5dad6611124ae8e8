#include "passes/quantize/quantize_workflow.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "lib/errors.h"
#include "lib/eval/model_comparison.h"
#include "lib/measure/latency_stats.h"
#include "lib/pipeline/pass_manager.h"
#include "lib/util/scratch_dir.h"
#include "passes/quantize/quant_boundaries.h"
#include "passes/quantize/quantize_errors.h"
#include "passes/quantize/reduced_precision.h"
#include "passes/register_all_passes.h"

namespace mopt::quant {
using nlohmann::json;

namespace {

struct Trial {
  std::vector<std::string> fp32_layers;
  QuantResult result;
  json metrics;
};

// The quantizable module an activation belongs to: itself, or for values produced by
// non-quantizable modules (a ReLU after a conv) the nearest quantizable module before it.
std::string owning_module(const std::string& layer, const std::vector<std::string>& module_order,
                          const std::set<std::string>& quantizable) {
  if (quantizable.count(layer)) return layer;
  auto it = std::find(module_order.begin(), module_order.end(), layer);
  if (it == module_order.end()) return "";
  while (it != module_order.begin()) {
    --it;
    if (quantizable.count(*it)) return *it;
  }
  return "";
}

// The most sensitive quantized module (lowest activation SQNR) not yet in fp32.
std::string most_sensitive(const QuantResult& result, const Model& fp32, const std::vector<std::string>& fp32_layers) {
  auto names = quantizable_modules(fp32);
  std::set<std::string> quantizable(names.begin(), names.end());
  std::vector<std::string> order;
  for (const auto& item : fp32.torchscript().named_modules()) order.push_back(item.name);
  std::string best;
  double lowest = 1e300;
  for (const auto& record : result.activations) {
    auto module = owning_module(record.layer, order, quantizable);
    if (module.empty() || std::count(fp32_layers.begin(), fp32_layers.end(), module)) continue;
    if (record.sqnr_db < lowest) lowest = record.sqnr_db, best = module;
  }
  return best;
}

json layer_table(const QuantResult& result) {
  json layers = json::array();
  for (const auto& r : result.activations) {
    layers.push_back({{"layer", r.layer},
                      {"range", {r.range.min, r.range.max}},
                      {"scale", r.qparams.scale},
                      {"zero_point", r.qparams.zero_point},
                      {"sqnr_db", r.sqnr_db},
                      {"cosine", r.cosine}});
  }
  return layers;
}

struct Baseline {
  Model model;
  std::string pipeline;
  json measured = json::object();  ///< fresh-process p50 of each candidate timed, from its latest pairing
};

// The fp32 side of every comparison: the fastest of the model frozen and optimized for inference,
// the same with its conv weights channels-last, and channels-last without optimize-for-inference
// (compile --keep-if-faster drops optimize-for-inference for MobileNetV3-small and EfficientNet-B0).
// In NCHW, LibTorch's depthwise convolutions are slow, and INT8 speedups were reported against an
// fp32 file several times slower than the one channels-last gives (EfficientNet-B0 45.7 vs 15.3 ms,
// MobileNetV2 39.0 vs 9.3 ms at 1 thread). When channels-last changes no weight the model has no
// conv to gain, and nothing is timed.
Baseline fp32_baseline(const Model& fp32, const QuantizeRequest& request, const PassRegistry& registry,
                       const std::function<void(const std::string&)>& log) {
  const std::string plain = "freeze,optimize-for-inference", nhwc = "freeze,channels-last,optimize-for-inference",
                    nhwc_unfused = "freeze,channels-last";
  log("preparing the fp32 baseline (freeze, optimize-for-inference; channels-last if faster) ...");
  Baseline baseline{run_pipeline(fp32, parse_pipeline(plain), registry).model.reloaded(), plain};
  if (!request.comparison.time_latency) {  // the choice is a timing: nothing to decide it with
    log("fp32 baseline: NCHW (--no-latency: channels-last is not tried)");
    return baseline;
  }
  auto channels_last = run_pipeline(fp32, parse_pipeline(nhwc), registry);
  const auto& step = *std::find_if(channels_last.records.begin(), channels_last.records.end(),
                                   [](const PassRecord& r) { return r.name == "channels-last"; });
  if (step.stats.rewrites == 0) return baseline;
  // Each candidate is timed against the best so far, side by side in fresh processes; the best's
  // figure is its latest, and the baseline is the fastest of the figures recorded.
  std::map<std::string, Model> candidates{{plain, baseline.model}};
  ScratchDir scratch("mopt-baseline");
  auto challenge = [&](const std::string& pipeline, Model candidate) {
    candidates[baseline.pipeline].save(scratch.file("best.pt"));
    candidate.save(scratch.file("candidate.pt"));
    auto latency = measure_fresh_latency(scratch.file("best.pt"), scratch.file("candidate.pt"), request.eval.input_rows(0, 1),
                                         fresh_timing(request.comparison));
    const double best_ms = summarize_latencies(latency.before_ms).p50_ms;
    const double candidate_ms = summarize_latencies(latency.after_ms).p50_ms;
    log(fmt::format("fp32 baseline: p50 {:.3f} ms {}, {:.3f} ms {}", best_ms, baseline.pipeline, candidate_ms, pipeline));
    baseline.measured[baseline.pipeline] = best_ms;
    baseline.measured[pipeline] = candidate_ms;
    candidates.emplace(pipeline, std::move(candidate));
    for (const auto& [name, ms] : baseline.measured.items()) {
      if (ms.get<double>() < baseline.measured[baseline.pipeline].get<double>()) baseline.pipeline = name;
    }
  };
  challenge(nhwc, channels_last.model.reloaded());
  challenge(nhwc_unfused, run_pipeline(fp32, parse_pipeline(nhwc_unfused), registry).model.reloaded());
  baseline.model = candidates.at(baseline.pipeline);
  return baseline;
}

}  // namespace

QuantizeOutcome run_quantize(const Model& fp32, const QuantizeRequest& request,
                             const std::function<void(const std::string&)>& log) {
  if (request.mode != "static" && request.mode != "dynamic" && request.mode != "fp16" && request.mode != "bf16" &&
      request.mode != "bf16-compute") {
    throw usage_error("--mode is static, dynamic, fp16, bf16 or bf16-compute");
  }
  if (request.target.max_accuracy_drop && !request.eval.has_labels()) {
    throw usage_error("--max-accuracy-drop needs --eval-data with labels");
  }
  static const PassRegistry registry = make_default_registry();
  const auto baseline = fp32_baseline(fp32, request, registry, log);

  auto attempt = [&](const std::vector<std::string>& fp32_layers) {
    Trial trial;
    trial.fp32_layers = fp32_layers;
    auto config = request.config;
    config.skip_modules.insert(config.skip_modules.end(), fp32_layers.begin(), fp32_layers.end());
    if (request.mode == "static") {
      trial.result = quantize_static(fp32, request.calib, config, [&](int64_t done, int64_t total) {
        if (done == total || done % std::max<int64_t>(1, total / 10) == 0) log(fmt::format("calibrating: batch {}/{}", done, total));
      });
    } else if (request.mode == "dynamic") {
      trial.result.model = quantize_dynamic(fp32, config);
    } else if (request.mode == "bf16-compute") {
      trial.result.model = baseline.model.clone();  // frozen, optimized, channels-last where that was faster
      compute_in_bfloat16(trial.result.model);
      // An op that makes float32 tensors of its own (torch.zeros(...), a dtype=torch.float argument)
      // meets bf16 weights: say so here, not as a model that "cannot run" in the comparison.
      quantization_stage("running the bf16 model on the first sample",
                         "the model makes float32 tensors of its own somewhere; use --mode bf16 (bf16 weights, float32 compute)",
                         [&] {
                           torch::NoGradGuard no_grad;
                           const auto sample = request.eval.input_rows(0, 1);
                           trial.result.model.torchscript().forward(std::vector<c10::IValue>(sample.begin(), sample.end()));
                         });
    } else {
      trial.result.model = fp32.clone();
      store_weights_reduced(trial.result.model, request.mode == "fp16" ? torch::kHalf : torch::kBFloat16);
    }
    // Measure the artifact as shipped (saved and loaded back), not the in-memory pass result.
    trial.result.model = trial.result.model.reloaded();
    trial.metrics = compare_models(baseline.model, trial.result.model, request.eval, request.comparison);
    log(fmt::format("trial {}: fp32 layers [{}]: accuracy drop {:.2f} pt, output SQNR {:.1f} dB{}", fp32_layers.size(),
                    fmt::join(fp32_layers, ", "), 100 * accuracy_drop(trial.metrics), trial.metrics["agreement"]["sqnr_db"].get<double>(),
                    speedup_clause(trial.metrics)));
    return trial;
  };

  std::vector<Trial> trials{attempt({})};
  const bool fallback = request.mode == "static" && request.target.active();
  while (fallback && !meets_target(trials.back().metrics, request.target) && static_cast<int>(trials.size()) < request.max_trials) {
    auto layer = most_sensitive(trials.back().result, fp32, trials.back().fp32_layers);
    if (layer.empty()) break;
    auto layers = trials.back().fp32_layers;
    layers.push_back(layer);
    log(fmt::format("target not met; returning '{}' (lowest SQNR) to fp32", layer));
    trials.push_back(attempt(layers));
  }

  // The written configuration: the first trial meeting the target, else the last one tried.
  std::vector<json> trial_metrics;
  std::vector<std::vector<std::string>> trial_layers;
  for (const auto& t : trials) trial_metrics.push_back(t.metrics), trial_layers.push_back(t.fp32_layers);
  const size_t chosen = chosen_trial(trial_metrics, request.target);
  auto& pick = trials[chosen];
  QuantizeOutcome outcome;
  outcome.model = pick.result.model;
  outcome.metrics = pick.metrics;
  outcome.target_met = meets_target(pick.metrics, request.target);
  outcome.speedup = pick.metrics.value("speedup_p50", 0.0);  // 0 under --no-latency

  json fp32_layers = json::array();
  for (const auto& name : request.config.skip_modules) fp32_layers.push_back({{"layer", name}, {"reason", "--skip"}});
  for (const auto& name : pick.fp32_layers) fp32_layers.push_back({{"layer", name}, {"reason", "accuracy fallback (most sensitive)"}});
  outcome.details = {{"mode", request.mode},
                     {"calibrator", request.mode == "static" ? request.config.calibrator : "none"},
                     {"per_channel", request.config.per_channel},
                     {"baseline", {{"pipeline", baseline.pipeline}, {"candidates_p50_ms", baseline.measured}}},
                     {"activations", layer_table(pick.result)},
                     {"fp32_layers", fp32_layers},
                     {"trials", trial_table(trial_layers, trial_metrics, request.target, chosen)},
                     {"target_met", outcome.target_met},
                     {"boundaries", quantization_boundaries(pick.result.model)},
                     {"silu_as_sigmoid_mul", pick.result.silu_decomposed},
                     {"relu6_folded", pick.result.relu6_folded},
                     {"cats_channels_last", pick.result.cats_channels_last},
                     {"training_only_submodules", pick.result.training_only_submodules},
                     {"calibration",
                      {{"samples", pick.result.calibration_samples}, {"peak_rss_mb", pick.result.calibration_peak_rss_mb}}}};
  return outcome;
}

}  // namespace mopt::quant
