#include "lib/quantize/quantize_workflow.h"

#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <optional>

#include "lib/errors.h"
#include "lib/model/onnx_io.h"
#include "lib/onnx/export/onnx_exporter.h"
#include "lib/onnx/graph_utils.h"
#include "lib/onnx/import/onnx_importer.h"
#include "lib/pipeline/pass_manager.h"
#include "lib/quantize/engine_choice.h"
#include "lib/quantize/fp32_baseline.h"
#include "lib/quantize/ort_fusions.h"
#include "lib/quantize/ort_node_times.h"
#include "lib/quantize/quant_boundaries.h"
#include "lib/quantize/quantize_errors.h"
#include "lib/runtime/onnxruntime_runner.h"
#include "lib/runtime/runtime.h"
#include "lib/util/log.h"
#include "lib/util/scratch_dir.h"

namespace mopt::quant {
using nlohmann::json;

namespace {

// Quantization rewrites the main graph only; a model whose layers all sit in If/Loop bodies (Silero
// VAD's whole network branches on the sample rate) gets told so, not that it has no such ops.
std::string ops_in_subgraphs_note(const onnx::GraphProto& graph) {
  int nested = 0;
  for (const auto& node : graph.node()) {
    for (const auto* body : subgraphs_of(node)) {
      for_each_onnx_node(*body, [&](const onnx::NodeProto& n) {
        const auto& op = n.op_type();
        nested += op == "Conv" || op == "Gemm" || op == "MatMul" || op == "LSTM" || op == "GRU";
      });
    }
  }
  if (nested == 0) return "";
  return fmt::format("; {} Conv/Gemm/MatMul/LSTM/GRU node(s) sit inside If/Loop bodies, which quantization does not "
                     "rewrite",
                     nested);
}

void log_line(const std::string& line) { log_info("{}", line); }

// Why a layer or node is kept in fp32, as the report says it.
constexpr const char* kAccuracyFallback = "accuracy fallback (most sensitive)";
constexpr const char* kSlowerInInt8 = "slower in INT8 (ONNX Runtime op profile)";
// Calls profiled per file when looking for nodes ORT runs slower in INT8.
constexpr int64_t kProfiledCalls = 20;
// Samples the two INT8 files are run on when timed side by side (the timing is what decides; the
// accuracy check against fp32 then uses the whole evaluation set).
constexpr int64_t kSideBySideSamples = 16;
// A faster file with input-edge nodes in fp32 is written only if it is as accurate as the all-INT8
// one within these (its ranges are recalibrated where the Q moved, which can cost precision).
constexpr double kSpeedFallbackSqnrSlackDb = 0.5;
constexpr double kSpeedFallbackAccuracySlack = 0.001;  // 0.1 point

bool as_accurate(const json& candidate, const json& current) {
  return candidate["agreement"]["sqnr_db"].get<double>() >= current["agreement"]["sqnr_db"].get<double>() - kSpeedFallbackSqnrSlackDb &&
         accuracy_drop(candidate) <= accuracy_drop(current) + kSpeedFallbackAccuracySlack;
}

// One configuration tried: the layers (or nodes) returned to fp32 so far, the pipeline's result
// with them, and that result as saved, measured against fp32.
struct Trial {
  std::vector<std::string> fallback;  ///< by the accuracy fallback
  Model model;
  std::vector<PassRecord> records;
  json metrics;
  std::filesystem::path file;  ///< ONNX: the saved trial, as ONNX Runtime measured it
  const PassStats& step() const { return records.back().stats; }  ///< the quantizing step's
};

Trial build_trial(const Model& input, const QuantizeRequest& request, const PassRegistry& registry,
                  const std::vector<std::string>& fallback, json& memo, const std::vector<std::string>& slower = {}) {
  PassContext context;
  context.calibration = request.calib.size() > 0 ? &request.calib : nullptr;
  context.evaluation = &request.eval;
  context.log = log_line;
  for (const auto& unit : fallback) context.keep_fp32[unit] = kAccuracyFallback;
  for (const auto& node : slower) context.keep_fp32[node] = kSlowerInInt8;
  context.memo = &memo;
  auto result = run_pipeline(input, request.pipeline, registry, {}, context);
  return Trial{fallback, std::move(result.model), std::move(result.records), json(), {}};
}

// The unit (layer or node) with the lowest activation SQNR not yet in fp32, or "" when there is
// none, or when returning it would leave nothing quantized.
std::string most_sensitive(const Trial& trial) {
  const auto& details = trial.step().details;
  if (trial.step().rewrites <= 1 || !details.contains("activations")) return "";
  auto rows = details["activations"].get<std::vector<json>>();
  std::stable_sort(rows.begin(), rows.end(), [](const json& a, const json& b) {
    return a["sqnr_db"].get<double>() < b["sqnr_db"].get<double>();
  });
  for (const auto& row : rows) {
    for (const auto& unit : row["fallback_units"]) {
      const auto name = unit.get<std::string>();
      if (std::find(trial.fallback.begin(), trial.fallback.end(), name) == trial.fallback.end()) return name;
    }
  }
  return "";
}

// Runs `measure` on the first trial and on one more per fallback step while the target is not met.
// Returns the trials and the index of the one to write: the first meeting the target, else the last.
template <typename Build, typename Measure>
std::pair<std::vector<Trial>, size_t> run_trials(const QuantizeRequest& request, Trial first, const Build& build,
                                                 const Measure& measure) {
  std::vector<Trial> trials;
  trials.push_back(std::move(first));
  measure(trials.back());
  while (request.target.active() && !meets_target(trials.back().metrics, request.target) &&
         static_cast<int>(trials.size()) < request.max_trials) {
    auto unit = most_sensitive(trials.back());
    if (unit.empty()) break;
    log_line(fmt::format("target not met; returning {} '{}' (lowest activation SQNR) to fp32",
                         trials.back().model.is_onnx() ? "node" : "layer", unit));
    auto fallback = trials.back().fallback;
    fallback.push_back(unit);
    trials.push_back(build(fallback));
    measure(trials.back());
  }
  std::vector<json> metrics;
  for (const auto& t : trials) metrics.push_back(t.metrics);
  return {std::move(trials), chosen_trial(metrics, request.target)};
}

json trials_of(const std::vector<Trial>& trials, const AccuracyTarget& target, size_t chosen) {
  std::vector<json> metrics;
  std::vector<std::vector<std::string>> units;
  for (const auto& t : trials) metrics.push_back(t.metrics), units.push_back(t.fallback);
  return trial_table(units, metrics, target, chosen);
}

void log_trial(const Trial& trial) {
  log_line(fmt::format("trial {}: fp32 layers [{}]: accuracy drop {:.2f} pt, output SQNR {:.1f} dB{}", trial.fallback.size(),
                       fmt::join(trial.fallback, ", "), 100 * accuracy_drop(trial.metrics),
                       trial.metrics["agreement"]["sqnr_db"].get<double>(), speedup_clause(trial.metrics)));
}

// The per-activation rows as the report has them (the fallback units were for the loop).
json activation_rows(const json& step_details) {
  json rows = step_details.value("activations", json::array());
  for (auto& row : rows) row.erase("fallback_units");
  return rows;
}

// The report's pipeline: the quantizing step's details are details.quantization, not repeated.
void record_pipeline(const QuantizeRequest& request, std::vector<PassRecord> records, Report& report) {
  records.back().stats.details = {{"see", "details.quantization"}};
  report.set_pipeline(print_pipeline(request.pipeline), records);
}

// invalid_input unless the model runs on `sample` (the first row of each of FLAG's inputs): data
// that does not fit the model is the user's input, not a quantization failure.
void check_model_runs_on(const Model& model, const std::vector<torch::Tensor>& sample, const std::string& flag) {
  try {
    torch::NoGradGuard no_grad;
    auto module = model.torchscript();
    module.forward(std::vector<torch::IValue>(sample.begin(), sample.end()));
  } catch (const Error&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw;
  } catch (const std::exception& e) {
    throw invalid_input(fmt::format("the model does not run on the {} data (a sample of shape [{}]): {}; check that "
                                    "it holds the model's inputs (shape, --normalize)",
                                    flag, fmt::join(sample.front().sizes(), ", "), torch_error_reason(e.what())));
  }
}

// An op that makes float32 tensors of its own (torch.zeros(...), a dtype=torch.float argument)
// meets bf16 weights: said here, not as a model that "cannot run" in the comparison.
void check_bf16_runs(const Model& model, const Dataset& eval) {
  quantization_stage("running the bf16 model on the first sample",
                     "the model makes float32 tensors of its own somewhere; use --mode bf16 (bf16 weights, float32 compute)",
                     [&] {
                       torch::NoGradGuard no_grad;
                       const auto sample = eval.input_rows(0, 1);
                       auto module = model.torchscript();
                       module.forward(std::vector<c10::IValue>(sample.begin(), sample.end()));
                     });
}

// TorchScript out: LibTorch's INT8 (or fp16/bf16), measured against the fastest fp32 baseline.
QuantizeOutcome quantize_to_torchscript(const Model& fp32, const QuantizeRequest& request, const PassRegistry& registry,
                                        Report& report) {
  json memo;
  auto build = [&](const Model& input, const std::vector<std::string>& fallback) {
    auto trial = build_trial(input, request, registry, fallback, memo);
    trial.model = trial.model.reloaded();  // measure the artifact as shipped, not the in-memory result
    if (request.mode == "bf16-compute") check_bf16_runs(trial.model, request.eval);
    return trial;
  };
  // A model the pipeline cannot quantize fails before the fp32 baseline is timed.
  std::optional<Trial> first;
  if (!request.on_baseline) first = build(fp32, {});
  log_line("preparing the fp32 baseline ...");
  const auto baseline = fastest_fp32_baseline(fp32, request.fp32_baselines, request.eval, request.comparison, registry, log_line);
  // INT8: the engine that runs this model fastest here, unless --engine named one.
  json engines = json::object();
  const bool int8 = request.mode == "static" || request.mode == "dynamic";
  if (int8 && first && request.comparison.time_latency && !engine_pinned()) {
    const auto choice = fastest_engine(first->model, request.eval, request.comparison, log_line);
    engines = choice.p50_ms;
    if (choice.engine != active_engine() && use_engine(choice.engine)) first->model = first->model.reloaded();  // re-packed
  }
  const Model& input = request.on_baseline ? baseline.model : fp32;
  if (!first) first = build(input, {});

  auto [trials, chosen] = run_trials(
      request, std::move(*first), [&](const std::vector<std::string>& fallback) { return build(input, fallback); },
      [&](Trial& trial) {
        trial.metrics = compare_models(baseline.model, trial.model, request.eval, request.comparison);
        log_trial(trial);
      });
  auto& pick = trials[chosen];
  const auto& step = pick.step().details;

  QuantizeOutcome outcome;
  outcome.model = pick.model;
  outcome.metrics = pick.metrics;
  outcome.target_met = meets_target(pick.metrics, request.target);
  outcome.speedup = pick.metrics.value("speedup_p50", 0.0);
  json fp32_layers = json::array();
  for (const auto& name : step.value("skipped_layers", json::array())) fp32_layers.push_back({{"layer", name}, {"reason", "--skip"}});
  for (const auto& name : pick.fallback) fp32_layers.push_back({{"layer", name}, {"reason", kAccuracyFallback}});
  outcome.details = {{"mode", request.mode},
                     {"calibrator", step.value("calibrator", "none")},
                     {"per_channel", step.value("per_channel", true)},
                     {"activation_quant_max", step.value("activation_quant_max", 255)},
                     {"baseline", {{"pipeline", baseline.pipeline}, {"candidates_p50_ms", baseline.measured}}},
                     {"activations", activation_rows(step)},
                     {"fp32_layers", fp32_layers},
                     {"trials", trials_of(trials, request.target, chosen)},
                     {"target_met", outcome.target_met},
                     {"boundaries", quantization_boundaries(pick.model)},
                     {"silu_as_sigmoid_mul", step.value("silu_as_sigmoid_mul", 0)},
                     {"relu6_folded", step.value("relu6_folded", 0)},
                     {"cats_channels_last", step.value("cats_channels_last", 0)},
                     {"training_only_submodules", step.value("training_only_submodules", json::array())},
                     {"calibration", step.value("calibration", json{{"samples", 0}, {"peak_rss_mb", 0.0}})},
                     {"engine", active_engine()},
                     {"device", request.comparison.device},
                     {"engines_p50_ms", engines}};
  if (step.contains("calibrator_check")) outcome.details["calibrator_check"] = step["calibrator_check"];
  record_pipeline(request, pick.records, report);
  return outcome;
}

// ORT's op profiles of the fp32 file and of the trial's, on the first sample: the nodes at the INT8
// region's input edge that ORT ran slower in INT8 than in fp32.
json input_edge_check(const Model& fp32, const std::filesystem::path& fp32_path, const Trial& trial, const Dataset& eval,
                      int threads) {
  const auto& graph = fp32.onnx().graph();
  auto node_times = [&](const std::filesystem::path& file) {
    OrtRequest request;
    request.model = file;
    request.warmup = 5;
    request.stop.iterations = 1;
    request.rows.push_back({threads, eval.input_rows(0, 1)});
    request.profile_iterations = kProfiledCalls;
    auto result = run_onnxruntime(request);
    return result.profile ? ort_node_times(*result.profile, graph) : std::map<std::string, NodeTime>{};
  };
  json rows = json::array();
  for (const auto& node : slower_at_input_edge(graph, node_times(fp32_path), node_times(trial.file))) {
    rows.push_back({{"node", node.node}, {"op_type", node.op_type}, {"fp32_us", node.fp32_us}, {"int8_us", node.int8_us}});
  }
  return {{"profiled_calls", kProfiledCalls}, {"slower_in_int8", rows}};
}

// ONNX out: QDQ (or dynamic INT8) that ONNX Runtime fuses, measured in ONNX Runtime against the
// fp32 file, with what ORT's own optimizer made of the chosen file.
QuantizeOutcome quantize_to_onnx(const Model& fp32, const std::filesystem::path& fp32_path, const QuantizeRequest& request,
                                 const PassRegistry& registry, Report& report) {
  // Data the declared inputs rule out is refused now, not after calibration at ORT's first run.
  if (request.calib.size() > 0) check_fits_declared_inputs(fp32.onnx(), request.calib.input_rows(0, 1), request.calib.description);
  check_fits_declared_inputs(fp32.onnx(), request.eval.input_rows(0, 1), request.eval.description);
  ScratchDir scratch("mopt-quantize");
  auto comparison = request.comparison;
  if (comparison.threads == 0) comparison.threads = at::get_num_threads();  // the ORT probe below runs at the same count
  const bool dynamic = request.mode == "dynamic";
  json memo;
  auto build = [&](const std::vector<std::string>& fallback) {
    auto trial = build_trial(fp32, request, registry, fallback, memo);
    if (trial.step().rewrites == 0) {
      throw invalid_input(fmt::format(
          "{}{}",
          !dynamic ? "the model has no op mopt can quantize (Conv, Gemm, MatMul, Add, Mul, Concat, pooling)"
                   : "the model has no MatMul with a constant 2-D weight and no LSTM for dynamic INT8; use --mode static",
          ops_in_subgraphs_note(fp32.onnx().graph())));
    }
    trial.file = scratch.file(fmt::format("trial-{}.onnx", fallback.size()));
    trial.model.save(trial.file);
    return trial;
  };
  auto [trials, chosen] = run_trials(request, build({}), build, [&](Trial& trial) {
    log_line("measuring fp32 vs INT8 in ONNX Runtime ...");
    trial.metrics = compare_files(fp32_path, trial.file, request.eval, comparison);
    if (request.target.active()) log_trial(trial);
  });
  // The speed fallback: input-edge nodes ORT ran slower in INT8 go back to fp32 in one more build,
  // written instead when it measures faster side by side and is as accurate.
  const Trial* shipped = &trials[chosen];
  json speed_check;
  std::optional<Trial> faster;
  if (!dynamic && comparison.time_latency && request.speed_fallback) {
    speed_check = input_edge_check(fp32, fp32_path, *shipped, request.eval, comparison.threads);
    if (!speed_check["slower_in_int8"].empty()) {
      std::vector<std::string> slower;
      for (const auto& row : speed_check["slower_in_int8"]) slower.push_back(row["node"].get<std::string>());
      log_line(fmt::format("ONNX Runtime runs {} in INT8 slower than in fp32 (op profile); measuring the file with "
                           "{} in fp32 ...", fmt::join(slower, ", "), slower.size() == 1 ? "it" : "them"));
      faster = build_trial(fp32, request, registry, shipped->fallback, memo, slower);
      speed_check["adopted"] = false;
      json head_to_head;  // the two INT8 files side by side; none when nothing would stay INT8
      if (faster->step().rewrites > 0) {
        faster->file = scratch.file("trial-edge-fp32.onnx");
        faster->model.save(faster->file);
        head_to_head = compare_files(shipped->file, faster->file, request.eval.head(kSideBySideSamples), comparison);
        speed_check["p50_ms"] = {{"all_int8", head_to_head["before"]["latency"]["p50_ms"]},
                                 {"edge_in_fp32", head_to_head["after"]["latency"]["p50_ms"]}};
      }
      if (latency_measured(head_to_head) && head_to_head["speedup_p50"].get<double>() > 1.0) {
        faster->metrics = compare_files(fp32_path, faster->file, request.eval, comparison);
        speed_check["output_sqnr_db"] = {{"all_int8", shipped->metrics["agreement"]["sqnr_db"]},
                                         {"edge_in_fp32", faster->metrics["agreement"]["sqnr_db"]}};
        if (meets_target(faster->metrics, request.target) && as_accurate(faster->metrics, shipped->metrics)) {
          shipped = &*faster, speed_check["adopted"] = true;
        }
      }
    }
  }
  const auto& pick = *shipped;

  // What ORT makes of the chosen file: the graph it actually runs.
  const auto optimized = scratch.file("ort-optimized.onnx");
  OrtRequest probe;
  probe.model = pick.file;
  probe.warmup = 0;
  probe.stop.iterations = 1;
  probe.rows.push_back({comparison.threads, request.eval.input_rows(0, 1)});
  probe.optimized_model = optimized;
  run_onnxruntime(probe);

  QuantizeOutcome outcome;
  outcome.onnx_output = true;
  outcome.model = pick.model;
  outcome.metrics = pick.metrics;
  outcome.speedup = outcome.metrics.value("speedup_p50", 0.0);
  outcome.target_met = meets_target(pick.metrics, request.target);
  outcome.details = pick.step().details;
  outcome.details.erase("calibration_samples");
  if (outcome.details.contains("activations")) outcome.details["activations"] = activation_rows(outcome.details);
  if (!dynamic) outcome.details["calibration"] = trials.front().step().details.value("calibration", json());
  outcome.details["format"] = dynamic ? "onnx-dynamic" : "onnx-qdq";
  outcome.details["mode"] = request.mode;
  outcome.details["onnxruntime_fusion"] = count_ort_fusions(load_onnx(optimized));
  outcome.details["onnxruntime_fusion"]["left_fp32"] =
      left_fp32_by_ort(outcome.details["onnxruntime_fusion"]["ops"], outcome.details.value("fp32_nodes", json::array()));
  outcome.details["trials"] = trials_of(trials, request.target, chosen);
  if (!speed_check.is_null()) outcome.details["speed_fallback"] = speed_check;
  outcome.details["target_met"] = outcome.target_met;
  record_pipeline(request, pick.records, report);
  return outcome;
}

}  // namespace

// Gates: an accuracy target that was not met, or a result slower than fp32 (unless --allow-slower;
// with --require-speedup, one not faster), writes nothing. fp16/bf16 weight storage is for size.
void enforce_quantize_gates(const QuantizeRequest& request, const QuantizeOutcome& outcome, double speedup, Report& report) {
  std::vector<std::string> failed;
  const bool on_gpu = request.comparison.device != "cpu";  // fp16/bf16 compute there, for speed
  const bool for_speed = on_gpu || (request.mode != "fp16" && request.mode != "bf16");
  if (for_speed && !request.allow_slower && !request.require_speedup && latency_measured(outcome.metrics)) {
    report.add_gate("not-slower", "p50 <= fp32 p50 (and <= an .onnx input's in ONNX Runtime)", speedup >= 1.0, speedup);
    if (speedup < 1.0) {
      const bool int8 = request.mode == "static" || request.mode == "dynamic";
      failed.push_back(fmt::format("the {} model is slower than fp32 ({:.2f}x); --allow-slower writes it anyway",
                                   int8 ? "INT8" : request.mode == "bf16-compute" ? "bf16" : request.mode, speedup));
    }
  }
  if (request.target.active()) {
    report.add_gate("accuracy-target", "quantized within --max-accuracy-drop/--min-sqnr", outcome.target_met,
                    outcome.metrics["agreement"]["sqnr_db"]);
    if (!outcome.target_met) failed.push_back("accuracy target not met after all trials");
  }
  if (request.require_speedup) {
    report.add_gate("require-speedup", "int8 p50 < fp32 p50 (and < an .onnx input's in ONNX Runtime)", speedup > 1.0, speedup);
    if (speedup <= 1.0) failed.push_back(fmt::format("INT8 is not faster ({:.2f}x)", speedup));
  }
  if (!failed.empty()) throw Error(ExitCode::kGateFailed, fmt::format("{}; no artifact written", fmt::join(failed, "; ")));
}

QuantizeOutcome run_quantize(const QuantizeRequest& asked, const PassRegistry& registry, Report& report,
                             const std::function<void(const QuantizeOutcome&)>& present) {
  QuantizeRequest request = asked;  // its data is loaded once the model has
  auto load_data = [&request] {
    if (request.load_data) request.load_data(request);
    if (request.target.max_accuracy_drop && !request.eval.has_labels()) {
      throw usage_error("--max-accuracy-drop needs --eval-data with labels");
    }
  };
  if (request.require_speedup && !request.comparison.time_latency) {
    throw usage_error("--require-speedup compares the timed INT8 and fp32 files: it cannot run with --no-latency");
  }
  check_output_path(request.model, request.output, request.force);
  const bool onnx_out = std::filesystem::path(request.output).extension() == ".onnx";
  validate_pipeline(request.pipeline, registry);

  QuantizeOutcome outcome;
  double gated_speedup = 0;  // --require-speedup: faster than every fp32 the user could run
  if (onnx_out) {
    auto input = Model::load(request.model);
    report.add_input(request.model, &input);
    load_data();
    std::filesystem::path fp32_path = request.model;
    ScratchDir scratch("mopt-quantize-fp32");
    json exported;  // null for an ONNX input
    if (input.is_torchscript()) {
      const bool has_calib = request.calib.size() > 0;
      const auto sample = (has_calib ? request.calib : request.eval).input_rows(0, 1);
      check_model_runs_on(input, sample, has_calib ? "--calib" : request.eval_flag);
      input = export_like(input, sample);
      fp32_path = scratch.file("fp32.onnx");
      input.save(fp32_path);
      log_info("exported to fp32 ONNX (opset {}) as the baseline to quantize and measure against", ExportOptions{}.opset);
      exported = {{"opset", ExportOptions{}.opset}, {"nodes", input.onnx().graph().node_size()}};
    }
    outcome = quantize_to_onnx(input, fp32_path, request, registry, report);
    if (!exported.is_null()) outcome.details["exported_fp32"] = exported;
    gated_speedup = outcome.speedup;
  } else {
    require_torchscript_output(request.output);
    auto fp32 = load_executable(request.model);
    report.add_input(request.model, &fp32);
    load_data();
    QuantizeRequest libtorch = request;  // also measured with the allocator thresholds a deploying process can set
    libtorch.comparison.allocator_check = true;
    check_model_runs_on(fp32, request.eval.input_rows(0, 1), request.eval_flag);
    // The passes word their own failures; this catches LibTorch errors from the steps around them
    // (the fp32 baseline, saving and reloading, measuring), so none reaches the user raw.
    outcome = quantization_stage("building or measuring the quantized model",
                                 "Try --mode dynamic or --mode fp16, keep a layer in fp32 with --skip LAYER, and report the model",
                                 [&] { return quantize_to_torchscript(fp32, libtorch, registry, report); });
    gated_speedup = outcome.speedup;
    // An .onnx input as its users run it today, in ONNX Runtime on the CPU (not beside a GPU's figures).
    if (const Model given = as_given(request.model, fp32); given.is_onnx() && request.comparison.device == "cpu") {
      outcome.vs_input_as_given = compare_models(given, outcome.model, request.eval, libtorch.comparison);
      if (latency_measured(outcome.vs_input_as_given)) {
        gated_speedup = std::min(gated_speedup, outcome.vs_input_as_given["speedup_p50"].get<double>());
      }
    }
    outcome.model.set_extra_file("mopt.json", json({{"quantized_engine", active_engine()},
                                                     {"mode", request.mode},
                                                     {"device", request.comparison.device},
                                                     {"calibrator", outcome.details["calibrator"]}}).dump());
  }
  report.metrics() = outcome.metrics;
  report.details()["quantization"] = outcome.details;
  if (!outcome.vs_input_as_given.is_null()) report.details()["quantization"]["vs_input_as_given"] = outcome.vs_input_as_given;
  present(outcome);
  enforce_quantize_gates(request, outcome, gated_speedup, report);
  outcome.model.save(request.output);
  report.add_output(request.output, &outcome.model);
  return outcome;
}

}  // namespace mopt::quant
