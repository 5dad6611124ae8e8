// mopt compile MODEL --profile NAME -o OUT: a frozen, fused, deployment-ready artifact for a
// device profile, checked for speed (on the host) and numerics against the input.
#include <algorithm>
#include <array>

#include "lib/errors.h"
#include "lib/eval/evaluate.h"
#include "lib/eval/keep_if_faster.h"
#include "lib/onnx/export/onnx_exporter.h"
#include "lib/onnx/import/onnx_importer.h"
#include "lib/profiles/profile.h"
#include "lib/runtime/cpu_info.h"
#include "lib/runtime/runtime.h"
#include "lib/util/log.h"
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
  double tolerance = 0.02;
};

// --specialize: the artifact is specialized for --input-shape, so that shape must be the one the
// comparison runs (compare_models times the first row, batch 1; a specialized model takes nothing else).
void append_specialize_step(const DataArgs& data, Pipeline& pipeline) {
  if (data.input_shape.empty() || !data.data.empty()) {
    throw usage_error("--specialize fixes the model to --input-shape: give --input-shape SPEC (not --data)");
  }
  auto spec = parse_input_spec(data.input_shape);
  if (spec.shape.front() != 1) {
    throw usage_error(fmt::format("--specialize: compile measures latency at batch 1 and a specialized model takes "
                                  "only its shape, so --input-shape must start with 1 (got {})",
                                  data.input_shape));
  }
  for (const auto& step : pipeline.steps) {
    if (step.name == "specialize-input-shape") return;  // already asked for in --pipeline
  }
  pipeline.steps.push_back({"specialize-input-shape", {{"shape", data.input_shape}}});
}

// Passes that choose LibTorch kernels and layouts: meaningless, and not exportable, for a file that
// ONNX Runtime will run (it picks its own). Removed from the pipeline for .onnx output.
constexpr std::array<const char*, 3> kLibTorchRuntimePasses = {"channels-last", "optimize-for-inference", "optimize-for-mobile"};

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

void run_compile(const CompileArgs& args, Report& report) {
  auto profile = load_profile(args.profile);
  const bool lite = std::filesystem::path(args.output).extension() == ".ptl";
  if (profile.artifact_format == "ptl" && !lite) {
    throw usage_error(fmt::format("profile '{}' deploys lite-interpreter files: use -o NAME.ptl", profile.name));
  }
  check_output_path(args.model, args.output, args.force);
  const bool onnx_out = std::filesystem::path(args.output).extension() == ".onnx";
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
  auto data = load_data(data_args, "test");
  const bool on_host = runs_on_host(profile);
  if (!on_host) {
    log_info("note: profile '{}' targets {}; speed is measured on this {} host, not on the target", profile.name,
             profile.architecture, cpu_info().architecture);
  }

  ComparisonSettings settings;
  settings.iterations = args.iterations;
  Model output;
  std::string kept_text;
  nlohmann::json decisions = nlohmann::json::array();
  if (args.keep_if_faster && on_host && !onnx_out) {
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

  if (onnx_out) {
    log_info("exporting to ONNX (opset 17) ...");
    output = export_like(output, data.inputs.slice(0, 0, 1));
  } else {
    output.set_extra_file("mopt.json", nlohmann::json({{"profile", profile.name}, {"quantized_engine", profile.quantized_engine},
                                                       {"pipeline", kept_text}}).dump());
  }
  // An .onnx output is timed in ONNX Runtime, where it will run, against the input where it runs
  // (an ONNX input in ONNX Runtime too, a TorchScript input in LibTorch).
  const bool onnx_in = detect_format(args.model) == ModelFormat::kOnnx;
  auto comparison = compare_models(onnx_out && onnx_in ? Model::load(args.model) : input, output, data, settings);
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
  if (lite) {
    auto agreement = compare_lite_outputs(args.output, input, data.inputs.slice(0, 0, 1));
    details["lite_agreement"] = {{"max_abs_diff", agreement.max_abs_diff}, {"cosine", agreement.cosine}};
  }

  say("{} -> {}  (profile {}, {})", args.model, args.output, profile.name, lite ? "lite .ptl" : onnx_out ? "ONNX, timed in ONNX Runtime" : "TorchScript .pt");
  say("pipeline: {}", kept_text.empty() ? "(every pass dropped)" : kept_text);
  for (const auto& d : decisions) say("  {:<32} {}", d["step"].get<std::string>(), d["reason"].get<std::string>());
  say("latency p50 (ms, b=1, on this host): {:.3f} -> {:.3f}  ({:.2f}x)", comparison["before"]["latency"]["p50_ms"].get<double>(),
      comparison["after"]["latency"]["p50_ms"].get<double>(), comparison["speedup_p50"].get<double>());
  say("  {}", latency_method_note(comparison));
  say("outputs vs input: max abs diff {:.3g}, cosine {:.6f}", comparison["agreement"]["max_abs_diff"].get<double>(),
      comparison["agreement"]["cosine"].get<double>());
  if (lite) {
    say("lite interpreter vs full model: max abs diff {:.3g}, cosine {:.6f}", details["lite_agreement"]["max_abs_diff"].get<double>(),
        details["lite_agreement"]["cosine"].get<double>());
  }
  if (on_host && comparison["speedup_p50"].get<double>() < 0.95) {
    say("WARNING: the compiled model is SLOWER on this host ({:.2f}x); try --keep-if-faster", comparison["speedup_p50"].get<double>());
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
  cmd->add_flag("--keep-if-faster", args->keep_if_faster, "measure each pass on this host and drop those that slow the model down");
  cmd->add_option("--tolerance", args->tolerance, "slowdown a pass may cause before --keep-if-faster drops it (default 0.02)");
  cmd->add_option("--iterations", args->iterations, "timed calls per latency measurement")->check(CLI::PositiveNumber);
  cmd->add_flag("--specialize", args->specialize,
                "append specialize-input-shape for --input-shape: folds shape checks and branches; the artifact then only "
                "accepts that shape");
  cmd->add_flag("--force", args->force, "allow writing over the input model");
  add_data_flags(*cmd, args->data);
  add_common_flags(*cmd, args->common);
  cmd->footer(std::string("Examples:\n"
                          "  mopt compile cnn.pt --profile x86-64-avx512-vnni -o cnn.server.pt --input-shape 1x1x28x28 --keep-if-faster\n"
                          "  mopt compile cnn.pt --profile android-arm64 -o cnn.ptl --input-shape 1x1x28x28\n"
                          "  mopt compile cnn.pt --profile x86-64-avx2 -o cnn.onnx --input-shape 1x1x28x28\n"
                          "  mopt compile encoder.pt --profile x86-64-avx2 -o encoder.pt --input-shape 1x16x64 --specialize --keep-if-faster\n"
                          "  mopt compile model.pt --profile my-board.json -o out.pt --data inputs.npy --report compile.json\n\n") +
              exit_codes_help());
  cmd->callback([args] { run_reported("compile", args->common, [&](Report& report) { run_compile(*args, report); }); });
}

}  // namespace mopt::cli
