// mopt compile MODEL --profile NAME -o OUT: a frozen, fused, deployment-ready artifact for a
// device profile, checked for speed (on the host) and numerics against the input.
#include <filesystem>

#include "lib/compile/compile_workflow.h"
#include "lib/errors.h"
#include "lib/eval/model_comparison.h"
#include "lib/profiles/profile.h"
#include "lib/runtime/cuda.h"
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
  std::string device;  ///< "" = the profile's
};

// Where the artifact runs and is checked: the profile's device, or --device with -p. First in the
// command: LibTorch's CUDA half must load before anything asks LibTorch about CUDA.
std::string compile_device(const CompileArgs& args, const Profile& profile) {
  const c10::Device device = device_for(args.device, &profile);
  if (device.is_cuda() != (profile.device == "cuda") && args.pipeline.empty()) {
    throw usage_error(device.is_cuda()
                          ? fmt::format("profile '{}' compiles for a CPU (its pipeline targets the CPU's kernels); for a GPU "
                                        "use --profile datacenter-gpu or jetson-orin, or give -p", profile.name)
                          : fmt::format("profile '{}' compiles for an NVIDIA GPU; drop --device cpu, or give -p", profile.name));
  }
  if (device.is_cuda() && std::filesystem::path(args.output).extension() != ".pt") {
    throw usage_error("on a GPU compile writes TorchScript for LibTorch's CUDA: -o NAME.pt");
  }
  return device.str();
}

// Prints what compile did: the written file, the pipeline, latency, agreement and the warnings.
void print_outcome(const CompileArgs& args, const Profile& profile, const compile::CompileOutcome& outcome,
                   const nlohmann::json& details) {
  const auto& comparison = outcome.comparison;
  const auto& agreement = comparison["agreement"];
  const bool timed = latency_measured(comparison);
  if (outcome.onnx_in_onnx_out()) {
    say("{} -> {}  (profile {}, ONNX, {} in ONNX Runtime)", args.model, args.output, profile.name, timed ? "timed" : "checked");
    say("pipeline: {} ({} rewrites, {} -> {} nodes)", outcome.requested_pipeline, outcome.rewrites, outcome.nodes_before,
        outcome.nodes_after);
    if (outcome.input_written) {
      say("WARNING: ONNX Runtime ran the compiled graph slower than the input ({:.2f}x: {:.3f} vs {:.3f} ms); wrote the input "
          "graph unchanged", outcome.compiled_graph["speedup_p50"].get<double>(), outcome.compiled_graph["p50_ms"].get<double>(),
          comparison["before"]["latency"]["p50_ms"].get<double>());
      say("  {}", latency_method_note(comparison));
    } else {
      say_latency(comparison, "latency p50 (ms, b=1, ONNX Runtime)");
      if (!timed) say("note: not timed, so not checked to run faster than the input in ONNX Runtime");
      say("outputs vs input: max abs diff {:.3g}, cosine {:.6f}", agreement["max_abs_diff"].get<double>(),
          agreement["cosine"].get<double>());
    }
    return;
  }

  const char* written_as = outcome.lite ? "lite .ptl" : !outcome.onnx_output ? "TorchScript .pt"
                         : timed ? "ONNX, timed in ONNX Runtime" : "ONNX, checked in ONNX Runtime";
  say("{} -> {}  (profile {}, {})", args.model, args.output, profile.name, written_as);
  say("pipeline: {}", outcome.kept_pipeline.empty() ? "(every pass dropped)" : outcome.kept_pipeline);
  for (const auto& d : outcome.decisions) say("  {:<32} {}", d["step"].get<std::string>(), d["reason"].get<std::string>());
  if (outcome.input_written) {
    say("latency p50 (ms, b=1, on this host): {:.3f}, unchanged (the input graph was written)",
        comparison["before"]["latency"]["p50_ms"].get<double>());
    say("  {}", latency_method_note(comparison));
    say_allocator_check(comparison);
  } else {
    say_latency(comparison, "latency p50 (ms, b=1, on this host)");
  }
  say("outputs vs input: max abs diff {:.3g}, cosine {:.6f}", agreement["max_abs_diff"].get<double>(), agreement["cosine"].get<double>());
  if (outcome.lite) {
    say("lite interpreter vs full model: max abs diff {:.3g}, cosine {:.6f}", details["lite_agreement"]["max_abs_diff"].get<double>(),
        details["lite_agreement"]["cosine"].get<double>());
  }
  if (outputs_changed(agreement)) say("WARNING: outputs changed noticeably (cosine {:.4f})", agreement["cosine"].get<double>());
  if (outcome.on_host && timed && comparison["speedup_p50"].get<double>() < 0.95) {
    if (outcome.onnx_input && !outcome.onnx_output) {
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
    if (alt["speedup_p50"].get<double>() >= compile::kOnnxRuntimeAdvantage) {
      say("note: ONNX Runtime runs this model {:.2f}x faster than the compiled file ({:.3f} vs {:.3f} ms p50, both in fresh "
          "processes): for speed compile to ONNX instead (`mopt compile {} --profile {} -o OUT.onnx`)",
          alt["speedup_p50"].get<double>(), alt["onnxruntime_p50_ms"].get<double>(), alt["compiled_p50_ms"].get<double>(),
          args.model, profile.name);
    }
  }
}

void run_compile_command(const CompileArgs& args, Report& report) {
  if (args.keep_if_faster && !args.time_latency) {
    throw usage_error("--keep-if-faster times every pass to decide which to keep: it cannot run with --no-latency");
  }
  compile::CompileRequest request;
  request.model = args.model;
  request.output = args.output;
  request.profile = load_profile(args.profile);
  const auto& profile = request.profile;
  request.comparison.device = compile_device(args, profile);
  if (profile.artifact_format == "ptl" && std::filesystem::path(args.output).extension() != ".ptl") {
    throw usage_error(fmt::format("profile '{}' deploys lite-interpreter files: use -o NAME.ptl", profile.name));
  }
  check_output_path(args.model, args.output, args.force);
  const bool onnx_to_onnx =
      std::filesystem::path(args.output).extension() == ".onnx" && detect_format(args.model) == ModelFormat::kOnnx;
  request.pipeline = !args.pipeline.empty() ? args.pipeline : onnx_to_onnx ? kOnnxCleanupPipeline : profile.compile_pipeline;
  request.pipeline_from_profile = args.pipeline.empty() && !onnx_to_onnx;
  const auto data_args = with_graph_input(args.data, args.model);
  request.specialize = args.specialize;
  request.input_shape = data_args.input_shape;
  request.data_from_file = !data_args.data.empty();
  request.has_data = has_data(data_args);
  request.load_data = [data_args] { return load_data(data_args, "test"); };
  request.keep_if_faster = args.keep_if_faster;
  request.tolerance = args.tolerance;
  request.comparison.iterations = args.iterations;
  request.comparison.time_latency = args.time_latency;
  request.use_profile_engine = args.common.engine.empty();
  request.threads = args.common.threads.empty() ? 0 : args.common.threads.front();
  const auto outcome = compile::run_compile(request, make_default_registry(), report);
  print_outcome(args, profile, outcome, report.details()["compile"]);
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
  cmd->add_option("--device", args->device, "cpu, cuda or cuda:N: where the artifact is checked and timed (default: the "
                  "profile's; datacenter-gpu and jetson-orin run on cuda)")->type_name("DEVICE");
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
                          "  mopt compile model.pt --profile my-board.json -o out.pt --data inputs.npy --report compile.json\n"
                          "  mopt compile resnet50.pt --profile datacenter-gpu -o resnet50.fp16.pt --input-shape 32x3x224x224   # fp16, channels-last, on a GPU\n\n") +
              exit_codes_help());
  cmd->callback([args] { run_reported("compile", args->common, [&](Report& report) { run_compile_command(*args, report); }); });
}

}  // namespace mopt::cli
