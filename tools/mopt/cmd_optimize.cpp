// mopt optimize MODEL --pipeline TEXT -o OUT: apply any pipeline, then measure what it did.
#include <filesystem>
#include <optional>

#include "lib/errors.h"
#include "lib/eval/evaluate.h"
#include "lib/eval/model_comparison.h"
#include "lib/runtime/cuda.h"
#include "lib/model/graph_stats.h"
#include "lib/onnx/export/onnx_exporter.h"
#include "lib/optimize/optimize_workflow.h"
#include "lib/util/log.h"
#include "passes/register_all_passes.h"
#include "tools/mopt/commands.h"
#include "tools/mopt/data_flags.h"

namespace mopt::cli {
namespace {

struct OptimizeArgs {
  CommonArgs common;
  DataArgs data;
  std::string model;
  std::string pipeline;
  std::string output;
  bool force = false;
  bool print_pipeline = false;
  std::string calib;           ///< calibration inputs for quantize-static
  int64_t calib_samples = 512;
  int iterations = 50;
  bool time_latency = true;
  int64_t opset = kMaxExportOpset;
  std::string device = "cpu";
};

void print_comparison(const nlohmann::json& c) {
  std::string where;
  if (c.contains("runtime")) where = fmt::format("{} -> {}", c["runtime"]["before"].get<std::string>(), c["runtime"]["after"].get<std::string>());
  say("{:<28} {:>14} {:>14}", where, "before", "after");
  say_latency_and_accuracy(c);
  const auto& g = c["agreement"];
  say("outputs vs input model: max abs diff {:.3g}, cosine {:.6f}, {} on {} samples", g["max_abs_diff"].get<double>(),
      g["cosine"].get<double>(), top1_agreement_text(g), c["samples"].get<int64_t>());
  if (latency_measured(c) && c["speedup_p50"].get<double>() < 0.95) {
    const auto before = c["runtime"]["before"].get<std::string>(), after = c["runtime"]["after"].get<std::string>();
    if (before != after) {  // a conversion: the runtimes differ, whatever the passes do
      say("WARNING: the output in {} is SLOWER than the input in {} ({:.2f}x{}); keep the {} file where speed matters",
          after, before, c["speedup_p50"].get<double>(), tuned_allocator_clause(c), before == "onnxruntime" ? ".onnx" : ".pt");
    } else {
      say("WARNING: the optimized model is SLOWER than the input ({:.2f}x{}); consider dropping passes",
          c["speedup_p50"].get<double>(), tuned_allocator_clause(c));
    }
  }
  if (outputs_changed(g)) say("WARNING: outputs changed noticeably (cosine {:.4f})", g["cosine"].get<double>());
}

void run_optimize_command(const OptimizeArgs& args, Report& report) {
  // First: LibTorch's CUDA half must load before anything asks LibTorch about CUDA.
  const auto device = resolve_device(args.device).str();
  if (device != "cpu" && std::filesystem::path(args.output).extension() == ".onnx") {
    throw usage_error("--device cuda measures TorchScript in LibTorch on the GPU; mopt's ONNX Runtime runs on the CPU: -o NAME.pt");
  }
  auto registry = make_default_registry();
  optimize::OptimizeRequest request;
  // No pipeline: a plain conversion (ONNX in, TorchScript out).
  request.pipeline = args.pipeline.empty() ? Pipeline{} : parse_pipeline(args.pipeline);
  validate_pipeline(request.pipeline, registry);
  const auto text = print_pipeline(request.pipeline);
  if (args.print_pipeline) {
    say("{}", text);
    return;
  }
  if (args.output.empty()) throw usage_error("--output/-o is required (or use --print-pipeline)");
  check_output_path(args.model, args.output, args.force);
  request.model = args.model;
  request.output = args.output;
  request.opset = args.opset;
  request.load_data = [&args]() -> std::optional<Dataset> {
    if (!has_data(args.data)) return std::nullopt;
    return load_data(args.data, "test");
  };
  request.load_calibration = [&args]() -> std::optional<Dataset> {
    if (args.calib.empty()) return std::nullopt;
    auto calib = load_data_path(args.calib, "", "train", args.calib_samples, args.data.normalize);
    calib.labels = torch::Tensor();  // calibration reads inputs only
    return calib;
  };
  request.comparison.iterations = args.iterations;
  request.comparison.time_latency = args.time_latency;
  request.comparison.device = device;
  const auto outcome = optimize::run_optimize(request, registry, report);

  auto in_bytes = std::filesystem::file_size(args.model);
  auto out_bytes = std::filesystem::file_size(args.output);
  int64_t rewrites = 0;
  for (const auto& r : outcome.records) rewrites += r.stats.rewrites;
  say("{} -> {}  ({} passes, {} rewrites)", args.model, args.output, outcome.records.size(), rewrites);
  say("pipeline: {}", text);
  say("{:<22} {:>12} {:>12}", "file size (bytes)", in_bytes, out_bytes);
  say("{:<22} {:>12} {:>12}", "ops", total_ops(op_histogram(outcome.input)), total_ops(op_histogram(outcome.output)));
  if (!outcome.comparison.is_null()) {
    print_comparison(outcome.comparison);
    warn_if_busy(report);
  }
}

}  // namespace

void setup_optimize(CLI::App& app) {
  auto args = std::make_shared<OptimizeArgs>();
  auto* cmd = app.add_subcommand("optimize", "apply a pass pipeline to a model and measure the result");
  cmd->add_option("MODEL", args->model, "input model (.pt or .onnx); never modified")->required();
  cmd->add_option("-p,--pipeline", args->pipeline, "pass pipeline, e.g. 'freeze,fold-conv-bn' (none: convert only)");
  cmd->add_option("-o,--output", args->output, "output file (.pt, .ptl for TorchScript lite, .onnx)");
  cmd->add_flag("--force", args->force, "allow writing over the input model");
  cmd->add_flag("--print-pipeline", args->print_pipeline, "print the canonical pipeline text and exit");
  cmd->add_option("--calib", args->calib, "calibration inputs for quantize-static (train split of a folder; --normalize applies)")
      ->type_name("DATA");
  cmd->add_option("--calib-samples", args->calib_samples, "calibration samples (default 512)")->check(CLI::PositiveNumber);
  cmd->add_option("--opset", args->opset, fmt::format("ONNX opset of an .onnx output exported from TorchScript ({}..{}, "
                                                       "default {})", kMinExportOpset, kMaxExportOpset, kMaxExportOpset))
      ->check(CLI::Range(kMinExportOpset, kMaxExportOpset));
  cmd->add_option("--iterations", args->iterations, "timed calls for the before/after latency")->check(CLI::PositiveNumber);
  cmd->add_option("--device", args->device, "cpu, cuda or cuda:N (default cpu): where both models are run and timed "
                  "(on a GPU: by `mopt bench --device` in fresh processes; the CPU-only passes such as "
                  "optimize-for-inference do not load there)")->type_name("DEVICE");
  add_no_latency_flag(*cmd, args->time_latency);
  add_data_flags(*cmd, args->data);
  add_common_flags(*cmd, args->common);
  cmd->footer(std::string("Examples:\n"
                          "  mopt optimize model.pt -p 'freeze,fold-conv-bn,optimize-for-inference' -o fast.pt\n"
                          "  mopt optimize cnn.pt -p freeze,remove-dropout -o out.pt \\\n"
                          "      --data /usr/share/datasets/fashion-mnist --normalize 0.286,0.353 --report r.json\n"
                          "  mopt optimize model.onnx -p 'eliminate-identity,fuse-conv-bn,eliminate-dead-nodes' -o out.onnx\n"
                          "  mopt optimize model.onnx -o model.pt        # ONNX -> TorchScript\n"
                          "  mopt optimize model.pt -p freeze -o model.onnx --input-shape 1x3x224x224   # export\n"
                          "  mopt optimize tok.pt -o tok.onnx --input-shape 'input_ids:1x128:int64;attention_mask:1x128:int64'\n"
                          "  mopt optimize model.int8.pt -o model.int8.onnx --data calib/   # LibTorch INT8 -> QDQ for ORT\n"
                          "  mopt optimize model.onnx -p freeze,optimize-for-inference -o fast.pt\n"
                          "  mopt optimize model.pt -p 'fold-conv-bn,freeze,channels-last,compute-fp16' -o fp16.pt --input-shape 8x3x224x224 --device cuda\n"
                          "  mopt optimize cnn.onnx -p \"$(mopt quantize cnn.onnx -o x.onnx --print-pipeline)\" --calib calib.npy -o cnn.int8.onnx\n\n") +
              exit_codes_help());
  cmd->callback([args] { run_reported("optimize", args->common, [&](Report& report) { run_optimize_command(*args, report); }); });
}

}  // namespace mopt::cli
