// mopt compile MODEL --profile NAME -o OUT: a frozen, fused, deployment-ready artifact for a
// device profile, checked for speed (on the host) and numerics against the input.
#include <algorithm>
#include <array>

#include "lib/errors.h"
#include "lib/eval/evaluate.h"
#include "lib/eval/keep_if_faster.h"
#include "lib/eval/model_comparison.h"
#include "lib/onnx/export/onnx_exporter.h"
#include "lib/onnx/import/onnx_importer.h"
#include "lib/profiles/profile.h"
#include "lib/runtime/cpu_info.h"
#include "lib/runtime/runtime.h"
#include "lib/util/log.h"
#include "passes/onnx/onnx_passes.h"
#include "passes/register_all_passes.h"
#include "tools/mopt/commands.h"
#include "tools/mopt/data_flags.h"

namespace mopt::cli {
namespace {

struct CompileArgs {
  CommonArgs common;
  DataArgs data;
  std::string model, profile, output, pipeline;
  bool keep_if_faster = false, force = false, specialize = false;
  int iterations = 100;
  bool time_latency = true;
  double tolerance = 0.02;
};

// --specialize: the artifact is specialized for --input-shape, so that shape must be the one the
// comparison runs (compare_models times the first row, batch 1; a specialized model takes nothing else).
// For an ONNX model without --input-shape, the shape is the graph's own (batch 1).
void append_specialize_step(const DataArgs& data, Pipeline& pipeline) {
  if (data.input_shape.empty() || !data.data.empty()) {
    throw usage_error("--specialize fixes the model to --input-shape: give --input-shape SPEC (not --data)");
  }
  for (const auto& spec : parse_input_specs(data.input_shape)) {
    if (spec.shape.empty() || spec.shape.front() != 1) {
      throw usage_error(fmt::format("--specialize: compile measures latency at batch 1 and a specialized model takes "
                                    "only its shape, so each --input-shape must start with 1 (got {})",
                                    data.input_shape));
    }
  }
  for (const auto& step : pipeline.steps) {
    if (step.name == "specialize-input-shape") return;  // already asked for in --pipeline
  }
  pipeline.steps.push_back({"specialize-input-shape", {{"shape", data.input_shape}}});
}

// Passes that choose LibTorch kernels and layouts: meaningless, and not exportable, for a file that
// ONNX Runtime will run (it picks its own). Removed from the pipeline for .onnx output.
constexpr std::array<const char*, 4> kLibTorchRuntimePasses = {"channels-last", "optimize-for-inference", "optimize-for-mobile",
                                                               "single-row-matvec"};

std::vector<std::string> drop_libtorch_runtime_passes(Pipeline& pipeline) {
  std::vector<std::string> dropped;
  Pipeline kept;
  for (const auto& step : pipeline.steps) {
    bool runtime = std::find(kLibTorchRuntimePasses.begin(), kLibTorchRuntimePasses.end(), step.name) != kLibTorchRuntimePasses.end();
    if (runtime) dropped.push_back(print_step(step));
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

/// Above this, compile recommends the ONNX artifact (below it the run-to-run spread could flip it).
constexpr double kOnnxRuntimeAdvantage = 1.2;

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

// ONNX in, ONNX out: the graph stays ONNX. The profile's compile_pipeline chooses LibTorch kernels
// and layouts, and ONNX Runtime picks its own at load, so compile runs the hardware-independent
// ONNX clean-up (or -p), then writes whichever of the result and the input ONNX Runtime runs faster:
// it never writes a file slower than the input.
void run_onnx_compile(const CompileArgs& args, const Profile& profile, Report& report) {
  auto registry = make_default_registry();
  auto pipeline = parse_pipeline(args.pipeline.empty() ? kOnnxCleanupPipeline : args.pipeline);
  auto data_args = with_graph_input(args.data, args.model);
  if (!has_data(data_args)) throw usage_error("compile checks speed and numerics: give --input-shape SPEC or --data PATH");
  if (args.specialize) append_specialize_step(data_args, pipeline);
  validate_pipeline(pipeline, registry);
  const auto text = print_pipeline(pipeline);
  auto input = Model::load(args.model);
  report.add_input(args.model, &input);
  auto data = load_data(data_args, "test");
  log_info("ONNX in and out: the graph stays ONNX; ONNX Runtime picks kernels and layouts at load, so the "
           "profile's TorchScript pipeline is not used");
  auto result = run_pipeline(input, pipeline, registry, [](size_t i, size_t n, const std::string& step) {
    log_info("[{}/{}] {}", i + 1, n, step);
  });
  report.set_pipeline(text, result.records);

  ComparisonSettings settings;
  settings.iterations = args.iterations;
  settings.time_latency = args.time_latency;
  auto comparison = compare_models(input, result.model, data, settings);
  const bool timed = latency_measured(comparison);
  const double speedup = timed ? comparison["speedup_p50"].get<double>() : 0.0;
  const bool keep_input = timed && speedup < 1.0;  // untimed: the compiled graph, unchecked for speed
  nlohmann::json candidate = {{"p50_ms", timed ? comparison["after"]["latency"]["p50_ms"] : nlohmann::json()},
                              {"speedup_p50", timed ? nlohmann::json(speedup) : nlohmann::json()},
                              {"written", !keep_input}};
  if (keep_input) describe_input_as_written(comparison);
  const Model& output = keep_input ? input : result.model;
  output.save(args.output);
  report.add_output(args.output, &output);
  report.metrics() = comparison;
  int64_t rewrites = 0;
  for (const auto& r : result.records) rewrites += r.stats.rewrites;
  report.details()["compile"] = {{"profile", profile.name},
                                 {"target_architecture", profile.architecture},
                                 {"format", "onnx"},
                                 {"kept_pipeline", keep_input ? "" : text},
                                 {"requested_pipeline", text},
                                 {"rewrites", rewrites},
                                 {"nodes", {{"before", input.onnx().graph().node_size()}, {"after", result.model.onnx().graph().node_size()}}},
                                 {"compiled_graph", candidate}};

  say("{} -> {}  (profile {}, ONNX, {} in ONNX Runtime)", args.model, args.output, profile.name, timed ? "timed" : "checked");
  say("pipeline: {} ({} rewrites, {} -> {} nodes)", text, rewrites, input.onnx().graph().node_size(), result.model.onnx().graph().node_size());
  if (keep_input) {
    say("WARNING: ONNX Runtime ran the compiled graph slower than the input ({:.2f}x: {:.3f} vs {:.3f} ms); wrote the input "
        "graph unchanged", speedup, candidate["p50_ms"].get<double>(), comparison["before"]["latency"]["p50_ms"].get<double>());
    say("  {}", latency_method_note(comparison));
  } else {
    say_latency(comparison, "latency p50 (ms, b=1, ONNX Runtime)");
    if (!timed) say("note: not timed, so not checked to run faster than the input in ONNX Runtime");
    say("outputs vs input: max abs diff {:.3g}, cosine {:.6f}", comparison["agreement"]["max_abs_diff"].get<double>(),
        comparison["agreement"]["cosine"].get<double>());
  }
  warn_if_busy(report);
}

void run_compile(const CompileArgs& args, Report& report) {
  if (args.keep_if_faster && !args.time_latency) {
    throw usage_error("--keep-if-faster times every pass to decide which to keep: it cannot run with --no-latency");
  }
  auto profile = load_profile(args.profile);
  const bool lite = std::filesystem::path(args.output).extension() == ".ptl";
  if (profile.artifact_format == "ptl" && !lite) {
    throw usage_error(fmt::format("profile '{}' deploys lite-interpreter files: use -o NAME.ptl", profile.name));
  }
  check_output_path(args.model, args.output, args.force);
  const bool onnx_out = std::filesystem::path(args.output).extension() == ".onnx";
  if (onnx_out && detect_format(args.model) == ModelFormat::kOnnx) return run_onnx_compile(args, profile, report);
  if (!onnx_out) require_torchscript_output(args.output);
  auto registry = make_default_registry();
  auto pipeline = parse_pipeline(args.pipeline.empty() ? profile.compile_pipeline : args.pipeline);
  std::vector<std::string> not_for_onnx;
  if (onnx_out) {
    not_for_onnx = drop_libtorch_runtime_passes(pipeline);
    for (const auto& step : not_for_onnx) log_info("note: {} is skipped for .onnx output (ONNX Runtime picks its own kernels and layouts)", step);
  }
  auto data_args = with_graph_input(args.data, args.model);
  if (args.specialize) append_specialize_step(data_args, pipeline);
  try {
    validate_pipeline(pipeline, registry);
  } catch (const Error& e) {
    // An unknown pass or option in the profile's compile_pipeline is the profile file's fault (exit 4);
    // in -p it is the user's flag (exit 2).
    if (!args.pipeline.empty() || e.code() != ExitCode::kUsage) throw;
    throw invalid_input(fmt::format("profile {} has an invalid compile_pipeline: {}; fix the file (`mopt profiles "
                                    "validate {}` checks it) or give -p",
                                    profile.source.string(), e.what(), profile.source.string()));
  }
  if (!has_data(data_args)) throw usage_error("compile checks speed and numerics: give --input-shape SPEC or --data PATH");

  // The engine must be set before the model loads (packed weights are re-packed at load).
  if (args.common.engine.empty()) apply_runtime_settings({args.common.threads.empty() ? 0 : args.common.threads.front(), profile.quantized_engine});
  auto input = load_executable(args.model);
  report.add_input(args.model, &input);
  const Model reference = as_given(args.model, input);
  const bool onnx_input = reference.is_onnx();
  auto data = load_data(data_args, "test");
  const bool on_host = runs_on_host(profile);
  if (!on_host) {
    log_info("note: profile '{}' targets {}; speed is measured on this {} host, not on the target", profile.name,
             profile.architecture, cpu_info().architecture);
  }

  ComparisonSettings settings;
  settings.iterations = args.iterations;
  settings.time_latency = args.time_latency;
  Model output;
  std::string kept_text;
  nlohmann::json decisions = nlohmann::json::array();
  const bool passes_timed = args.keep_if_faster && on_host && !onnx_out;  // else every pass is kept
  if (passes_timed) {
    auto measured = run_pipeline_keep_if_faster(input, pipeline, registry, data, settings, args.tolerance,
                                                [](const std::string& line) { log_info("{}", line); });
    output = measured.model;
    kept_text = measured.kept_pipeline;
    decisions = measured.decisions;
    report.set_pipeline(kept_text, measured.kept);
  } else {
    if (args.keep_if_faster && onnx_out) log_info("note: --keep-if-faster times TorchScript passes in LibTorch; for .onnx output every pass is kept and the exported file is timed in ONNX Runtime");
    else if (args.keep_if_faster) log_info("note: --keep-if-faster needs a profile for this host's architecture; keeping every pass");
    auto result = run_pipeline(input, pipeline, registry, [](size_t i, size_t n, const std::string& step) {
      log_info("[{}/{}] {}", i + 1, n, step);
    });
    output = result.model;
    kept_text = print_pipeline(pipeline);
    report.set_pipeline(kept_text, result.records);
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
                                                       {"pipeline", kept_text}}).dump());
  }
  // Each side is run and timed where it runs: an .onnx in ONNX Runtime, a .pt in LibTorch.
  auto reported = settings;
  reported.allocator_check = true;
  auto comparison = compare_models(reference, output, data, reported);
  // With every pass dropped the written graph is the input's: any measured ratio would be noise
  // (not so for an .onnx input, whose import in LibTorch is measured against ONNX Runtime).
  const bool input_written = passes_timed && kept_text.empty() && !onnx_input;
  if (input_written) describe_input_as_written(comparison);
  output.save(args.output);
  report.add_output(args.output, &output);
  report.metrics() = comparison;
  auto& details = report.details()["compile"];
  details = {{"profile", profile.name},
             {"target_architecture", profile.architecture},
             {"measured_on", on_host ? "host (same architecture as the target)" : "host, not the target"},
             {"requested_pipeline", print_pipeline(pipeline)},
             {"kept_pipeline", kept_text},
             {"decisions", decisions},
             {"format", lite ? "ptl" : onnx_out ? "onnx" : "pt"},
             {"skipped_for_onnx", not_for_onnx}};
  if (!specialized_export.is_null()) details["specialized_export"] = specialized_export;
  if (lite) {
    auto agreement = compare_lite_outputs(args.output, input, data.input_rows(0, 1));
    details["lite_agreement"] = {{"max_abs_diff", agreement.max_abs_diff}, {"cosine", agreement.cosine}};
  }
  if (!onnx_out && !lite && !onnx_input && on_host && latency_measured(comparison)) {
    log_info("timing the model in ONNX Runtime too (exported from the input) ...");
    details["onnxruntime_alternative"] = onnxruntime_alternative(input, args.output, data, settings);
  }

  const char* written_as = lite ? "lite .ptl" : !onnx_out ? "TorchScript .pt"
                         : latency_measured(comparison) ? "ONNX, timed in ONNX Runtime" : "ONNX, checked in ONNX Runtime";
  say("{} -> {}  (profile {}, {})", args.model, args.output, profile.name, written_as);
  say("pipeline: {}", kept_text.empty() ? "(every pass dropped)" : kept_text);
  for (const auto& d : decisions) say("  {:<32} {}", d["step"].get<std::string>(), d["reason"].get<std::string>());
  if (input_written) {
    say("latency p50 (ms, b=1, on this host): {:.3f}, unchanged (the input graph was written)",
        comparison["before"]["latency"]["p50_ms"].get<double>());
    say("  {}", latency_method_note(comparison));
    say_allocator_check(comparison);
  } else {
    say_latency(comparison, "latency p50 (ms, b=1, on this host)");
  }
  say("outputs vs input: max abs diff {:.3g}, cosine {:.6f}", comparison["agreement"]["max_abs_diff"].get<double>(),
      comparison["agreement"]["cosine"].get<double>());
  if (lite) {
    say("lite interpreter vs full model: max abs diff {:.3g}, cosine {:.6f}", details["lite_agreement"]["max_abs_diff"].get<double>(),
        details["lite_agreement"]["cosine"].get<double>());
  }
  if (outputs_changed(comparison["agreement"])) {
    say("WARNING: outputs changed noticeably (cosine {:.4f})", comparison["agreement"]["cosine"].get<double>());
  }
  if (on_host && latency_measured(comparison) && comparison["speedup_p50"].get<double>() < 0.95) {
    if (onnx_input && !onnx_out) {
      say("WARNING: the compiled file in LibTorch is SLOWER than the .onnx input in ONNX Runtime ({:.2f}x{}); where speed "
          "matters keep the .onnx (`mopt compile {} -o OUT.onnx` cleans it up for ONNX Runtime)",
          comparison["speedup_p50"].get<double>(), tuned_allocator_clause(comparison), args.model);
    } else {
      say("WARNING: the compiled model is SLOWER on this host ({:.2f}x{}); try --keep-if-faster", comparison["speedup_p50"].get<double>(),
          tuned_allocator_clause(comparison));
    }
  }
  if (details.contains("onnxruntime_alternative") && details["onnxruntime_alternative"]["status"] == "measured") {
    const auto& alt = details["onnxruntime_alternative"];
    if (alt["speedup_p50"].get<double>() >= kOnnxRuntimeAdvantage) {
      say("note: ONNX Runtime runs this model {:.2f}x faster than the compiled file ({:.3f} vs {:.3f} ms p50, both in fresh "
          "processes): for speed compile to ONNX instead (`mopt compile {} --profile {} -o OUT.onnx`)",
          alt["speedup_p50"].get<double>(), alt["onnxruntime_p50_ms"].get<double>(), alt["compiled_p50_ms"].get<double>(),
          args.model, profile.name);
    }
  }
  warn_if_busy(report);
}

}  // namespace

void setup_compile(CLI::App& app) {
  auto args = std::make_shared<CompileArgs>();
  auto* cmd = app.add_subcommand("compile", "freeze, fuse and package a model for a device profile, checking speed and numerics");
  cmd->add_option("MODEL", args->model, "TorchScript model")->required();
  cmd->add_option("--profile", args->profile, "device profile name (see `mopt profiles list`) or a JSON file")->required();
  cmd->add_option("-o,--output", args->output, "output: .pt, .ptl for the lite interpreter, or .onnx (exported after the passes, timed in ONNX Runtime)")->required();
  cmd->add_option("-p,--pipeline", args->pipeline, "override the profile's compile pipeline");
  cmd->add_flag("--keep-if-faster", args->keep_if_faster, "measure each pass on this host and drop those that slow the model down or change its outputs");
  cmd->add_option("--tolerance", args->tolerance, "slowdown a pass may cause before --keep-if-faster drops it (default 0.02)");
  cmd->add_option("--iterations", args->iterations, "timed calls per latency measurement")->check(CLI::PositiveNumber);
  add_no_latency_flag(*cmd, args->time_latency);
  cmd->add_flag("--specialize", args->specialize,
                "append specialize-input-shape for --input-shape (an ONNX graph: its own input shape at batch 1 when none "
                "is given): folds shape queries, the arithmetic and branches on them; the artifact then only accepts that shape");
  cmd->add_flag("--force", args->force, "allow writing over the input model");
  add_data_flags(*cmd, args->data);
  add_common_flags(*cmd, args->common);
  cmd->footer(std::string("Examples:\n"
                          "  mopt compile cnn.pt --profile x86-64-avx512-vnni -o cnn.server.pt --input-shape 1x1x28x28 --keep-if-faster\n"
                          "  mopt compile cnn.pt --profile android-arm64 -o cnn.ptl --input-shape 1x1x28x28\n"
                          "  mopt compile cnn.pt --profile x86-64-avx2 -o cnn.onnx --input-shape 1x1x28x28\n"
                          "  mopt compile cnn.pt --profile x86-64-avx2 -o cnn.onnx --input-shape 1x1x28x28 --no-latency   # checked, not timed\n"
                          "  mopt compile encoder.pt --profile x86-64-avx2 -o encoder.pt --input-shape 1x16x64 --specialize --keep-if-faster\n"
                          "  mopt compile encoder.onnx --profile x86-64-avx2 -o encoder.fixed.onnx --input-shape 1x16x64 --specialize\n"
                          "  mopt compile model.pt --profile my-board.json -o out.pt --data inputs.npy --report compile.json\n\n") +
              exit_codes_help());
  cmd->callback([args] { run_reported("compile", args->common, [&](Report& report) { run_compile(*args, report); }); });
}

}  // namespace mopt::cli
