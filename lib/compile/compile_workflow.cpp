#include "lib/compile/compile_workflow.h"

#include <fmt/format.h>

#include <filesystem>

#include "lib/errors.h"
#include "lib/eval/evaluate.h"
#include "lib/eval/keep_if_faster.h"
#include "lib/measure/cpu_info.h"
#include "lib/onnx/export/onnx_exporter.h"
#include "lib/onnx/import/onnx_importer.h"
#include "lib/pipeline/pass_manager.h"
#include "lib/pipeline/pipeline.h"
#include "lib/runtime/runtime.h"
#include "lib/util/log.h"

namespace mopt::compile {
namespace {

// The artifact is specialized for --input-shape, so that shape must be the one the comparison runs
// (compare_models times the first row, batch 1; a specialized model takes nothing else).
void append_specialize_step(const CompileRequest& request, Pipeline& pipeline) {
  if (request.input_shape.empty() || request.data_from_file) {
    throw usage_error("--specialize fixes the model to --input-shape: give --input-shape SPEC (not --data)");
  }
  for (const auto& spec : parse_input_specs(request.input_shape)) {
    if (spec.shape.empty() || spec.shape.front() != 1) {
      throw usage_error(fmt::format("--specialize: compile measures latency at batch 1 and a specialized model takes "
                                    "only its shape, so each --input-shape must start with 1 (got {})",
                                    request.input_shape));
    }
  }
  for (const auto& step : pipeline.steps) {
    if (step.name == "specialize-input-shape") return;  // already asked for in --pipeline
  }
  pipeline.steps.push_back({"specialize-input-shape", {{"shape", request.input_shape}}});
}

void require_data(const CompileRequest& request) {
  if (!request.has_data) throw usage_error("compile checks speed and numerics: give --input-shape SPEC or --data PATH");
}

// The passes that choose LibTorch kernels and layouts (PassInfo::libtorch_runtime_only) leave the
// pipeline of a .onnx output: ONNX Runtime picks its own.
std::vector<std::string> drop_libtorch_runtime_passes(Pipeline& pipeline, const PassRegistry& registry) {
  std::vector<std::string> dropped;
  Pipeline kept;
  for (const auto& step : pipeline.steps) {
    const Pass* pass = registry.find(step.name);
    if (pass && pass->info().libtorch_runtime_only) dropped.push_back(print_step(step));
    else kept.steps.push_back(step);
  }
  pipeline = kept;
  return dropped;
}

// ONNX Runtime runs some models faster than the best LibTorch file mopt makes (MNASNet-0.5: 2.20 vs
// 3.30 ms compiled, docs/benchmarks.md "Profiles and compile"): the input exported to ONNX is timed against the
// compiled file, side by side in fresh processes, so compile can say when `-o OUT.onnx` is the better
// artifact. Never fails the compile (the file is already written): a model that does not export, or
// no ONNX Runtime, is recorded in the report with the reason.
nlohmann::json onnxruntime_alternative(const Model& input, const std::filesystem::path& compiled, const Dataset& data,
                                       const ComparisonSettings& settings) {
  try {
    const auto exported = export_like(input, data.input_rows(0, 1));
    const auto c = compare_models(Model::load(compiled), exported, data, settings);
    if (!latency_measured(c)) return {{"status", "not measured"}, {"reason", c["latency_measurement"]["method"]}};
    return {{"status", "measured"}, {"compiled_p50_ms", c["before"]["latency"]["p50_ms"]},
            {"onnxruntime_p50_ms", c["after"]["latency"]["p50_ms"]}, {"speedup_p50", c["speedup_p50"]},
            {"cosine", c["agreement"]["cosine"]}, {"latency_measurement", c["latency_measurement"]}};
  } catch (const std::exception& e) {
    return {{"status", "not measured"}, {"reason", e.what()}};
  }
}

// The written file is the input itself: its figures are the input's, and outputs agree exactly.
void describe_input_as_written(nlohmann::json& comparison) {
  comparison["after"] = comparison["before"];
  comparison["speedup_p50"] = 1.0;
  comparison["agreement"] = {{"max_abs_diff", 0.0}, {"cosine", 1.0}, {"top1_agreement", 1.0}, {"sqnr_db", 999.0}};
  if (tuned_allocator_figures(comparison)) {
    auto& tuned = comparison["allocator_check"];
    tuned["after"] = tuned["before"];
    tuned["speedup_p50"] = 1.0;
  }
}

void log_step(size_t i, size_t n, const std::string& step) { log_info("[{}/{}] {}", i + 1, n, step); }

// ONNX in, ONNX out: the graph stays ONNX. The profile's compile_pipeline chooses LibTorch kernels
// and layouts, and ONNX Runtime picks its own at load, so compile runs the hardware-independent
// ONNX clean-up (or -p), then writes whichever of the result and the input ONNX Runtime runs faster:
// it never writes a file slower than the input.
CompileOutcome compile_onnx_to_onnx(const CompileRequest& request, const PassRegistry& registry, Report& report) {
  auto pipeline = parse_pipeline(request.pipeline);
  require_data(request);
  if (request.specialize) append_specialize_step(request, pipeline);
  validate_pipeline(pipeline, registry);
  const auto text = print_pipeline(pipeline);
  auto input = Model::load(request.model);
  report.add_input(request.model, &input);
  const auto data = request.load_data();
  log_info("ONNX in and out: the graph stays ONNX; ONNX Runtime picks kernels and layouts at load, so the "
           "profile's TorchScript pipeline is not used");
  auto result = run_pipeline(input, pipeline, registry, log_step);
  report.set_pipeline(text, result.records);

  CompileOutcome outcome;
  outcome.onnx_input = outcome.onnx_output = true;
  outcome.comparison = compare_models(input, result.model, data, request.comparison);
  auto& comparison = outcome.comparison;
  const bool timed = latency_measured(comparison);
  const double speedup = timed ? comparison["speedup_p50"].get<double>() : 0.0;
  outcome.input_written = timed && speedup < 1.0;  // untimed: the compiled graph, unchecked for speed
  outcome.compiled_graph = {{"p50_ms", timed ? comparison["after"]["latency"]["p50_ms"] : nlohmann::json()},
                            {"speedup_p50", timed ? nlohmann::json(speedup) : nlohmann::json()},
                            {"written", !outcome.input_written}};
  if (outcome.input_written) describe_input_as_written(comparison);
  const Model& output = outcome.input_written ? input : result.model;
  output.save(request.output);
  report.add_output(request.output, &output);
  report.metrics() = comparison;
  for (const auto& r : result.records) outcome.rewrites += r.stats.rewrites;
  outcome.requested_pipeline = text;
  outcome.kept_pipeline = outcome.input_written ? "" : text;
  outcome.nodes_before = input.onnx().graph().node_size();
  outcome.nodes_after = result.model.onnx().graph().node_size();
  report.details()["compile"] = {{"profile", request.profile.name},
                                 {"target_architecture", request.profile.architecture},
                                 {"format", "onnx"},
                                 {"kept_pipeline", outcome.kept_pipeline},
                                 {"requested_pipeline", text},
                                 {"rewrites", outcome.rewrites},
                                 {"nodes", {{"before", outcome.nodes_before}, {"after", outcome.nodes_after}}},
                                 {"compiled_graph", outcome.compiled_graph}};
  return outcome;
}

}  // namespace

CompileOutcome run_compile(const CompileRequest& request, const PassRegistry& registry, Report& report) {
  const auto extension = std::filesystem::path(request.output).extension();
  const bool onnx_out = extension == ".onnx";
  if (onnx_out && detect_format(request.model) == ModelFormat::kOnnx) return compile_onnx_to_onnx(request, registry, report);
  if (!onnx_out) require_torchscript_output(request.output);
  const Profile& profile = request.profile;
  auto pipeline = parse_pipeline(request.pipeline);
  std::vector<std::string> not_for_onnx;
  if (onnx_out) {
    not_for_onnx = drop_libtorch_runtime_passes(pipeline, registry);
    for (const auto& step : not_for_onnx) log_info("note: {} is skipped for .onnx output (ONNX Runtime picks its own kernels and layouts)", step);
  }
  if (request.specialize) append_specialize_step(request, pipeline);
  try {
    validate_pipeline(pipeline, registry);
  } catch (const Error& e) {
    // An unknown pass or option in the profile's compile_pipeline is the profile file's fault (exit 4);
    // in -p it is the user's flag (exit 2).
    if (!request.pipeline_from_profile || e.code() != ExitCode::kUsage) throw;
    throw invalid_input(fmt::format("profile {} has an invalid compile_pipeline: {}; fix the file (`mopt profiles "
                                    "validate {}` checks it) or give -p",
                                    profile.source.string(), e.what(), profile.source.string()));
  }
  require_data(request);

  CompileOutcome outcome;
  outcome.requested_pipeline = print_pipeline(pipeline);
  outcome.onnx_output = onnx_out;
  outcome.lite = extension == ".ptl";
  // The engine must be set before the model loads (packed weights are re-packed at load).
  if (request.use_profile_engine) apply_runtime_settings({request.threads, profile.quantized_engine});
  auto input = load_executable(request.model);
  report.add_input(request.model, &input);
  const Model reference = as_given(request.model, input);
  outcome.onnx_input = reference.is_onnx();
  const auto data = request.load_data();
  outcome.on_host = runs_on_host(profile);
  if (!outcome.on_host) {
    log_info("note: profile '{}' targets {}; speed is measured on this {} host, not on the target", profile.name,
             profile.architecture, cpu_info().architecture);
  }

  Model output;
  const bool passes_timed = request.keep_if_faster && outcome.on_host && !onnx_out;  // else every pass is kept
  if (passes_timed) {
    auto measured = run_pipeline_keep_if_faster(input, pipeline, registry, data, request.comparison, request.tolerance,
                                                [](const std::string& line) { log_info("{}", line); });
    output = measured.model;
    outcome.kept_pipeline = measured.kept_pipeline;
    outcome.decisions = measured.decisions;
    report.set_pipeline(outcome.kept_pipeline, measured.kept);
  } else {
    if (request.keep_if_faster && onnx_out) log_info("note: --keep-if-faster times TorchScript passes in LibTorch; for .onnx output every pass is kept and the exported file is timed in ONNX Runtime");
    else if (request.keep_if_faster) log_info("note: --keep-if-faster needs a profile for this host's architecture; keeping every pass");
    auto result = run_pipeline(input, pipeline, registry, log_step);
    output = result.model;
    outcome.kept_pipeline = print_pipeline(pipeline);
    report.set_pipeline(outcome.kept_pipeline, result.records);
  }

  nlohmann::json specialized_export;
  if (onnx_out) {
    log_info("exporting to ONNX (opset {}) ...", ExportOptions{}.opset);
    output = export_like(output, data.input_rows(0, 1));
    // The exporter declares a dynamic batch. A specialized model's file declares its shape too, with
    // the shape arithmetic folded: ONNX Runtime runs fixed-shape graphs faster (scripts/bench/onnx_specialize.sh).
    for (const auto& step : pipeline.steps) {
      if (step.name != "specialize-input-shape") continue;
      log_info("specializing the exported graph too: {}", print_step(step));
      auto fixed = run_pipeline(output, Pipeline{{step}}, registry);
      output = fixed.model;
      specialized_export = fixed.records.at(0).stats.details;
    }
  } else {
    output.set_extra_file("mopt.json", nlohmann::json({{"profile", profile.name}, {"quantized_engine", profile.quantized_engine},
                                                       {"device", request.comparison.device},
                                                       {"pipeline", outcome.kept_pipeline}}).dump());
  }
  // Each side is run and timed where it runs: an .onnx in ONNX Runtime, a .pt in LibTorch.
  auto reported = request.comparison;
  reported.allocator_check = true;
  outcome.comparison = compare_models(reference, output, data, reported);
  // With every pass dropped the written graph is the input's: any measured ratio would be noise
  // (not so for an .onnx input, whose import in LibTorch is measured against ONNX Runtime).
  outcome.input_written = passes_timed && outcome.kept_pipeline.empty() && !outcome.onnx_input;
  if (outcome.input_written) describe_input_as_written(outcome.comparison);
  output.save(request.output);
  report.add_output(request.output, &output);
  report.metrics() = outcome.comparison;
  auto& details = report.details()["compile"];
  details = {{"profile", profile.name},
             {"target_architecture", profile.architecture},
             {"measured_on", outcome.on_host ? "host (same architecture as the target)" : "host, not the target"},
             {"requested_pipeline", outcome.requested_pipeline},
             {"kept_pipeline", outcome.kept_pipeline},
             {"decisions", outcome.decisions},
             {"format", outcome.lite ? "ptl" : onnx_out ? "onnx" : "pt"},
             {"device", request.comparison.device},
             {"skipped_for_onnx", not_for_onnx}};
  if (!specialized_export.is_null()) details["specialized_export"] = specialized_export;
  if (outcome.lite) {
    auto agreement = compare_lite_outputs(request.output, input, data.input_rows(0, 1));
    details["lite_agreement"] = {{"max_abs_diff", agreement.max_abs_diff}, {"cosine", agreement.cosine}};
  }
  // mopt's ONNX Runtime runs on the CPU: no alternative for a GPU target, even when checked here (--device cpu).
  const bool cpu_target = request.comparison.device == "cpu" && request.profile.device == "cpu";
  if (cpu_target && !onnx_out && !outcome.lite && !outcome.onnx_input && outcome.on_host && latency_measured(outcome.comparison)) {
    log_info("timing the model in ONNX Runtime too (exported from the input) ...");
    details["onnxruntime_alternative"] = onnxruntime_alternative(input, request.output, data, request.comparison);
  }
  return outcome;
}

}  // namespace mopt::compile
