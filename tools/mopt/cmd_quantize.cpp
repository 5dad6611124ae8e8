// mopt quantize MODEL -o OUT: dynamic or calibrated static INT8 with per-layer error,
// accuracy-aware fallback and speed measured against the fp32 model in the same run.
#include <ATen/Parallel.h>
#include <algorithm>
#include <map>

#include "calibration/calibrator.h"
#include "lib/errors.h"
#include "lib/eval/evaluate.h"
#include "lib/eval/model_comparison.h"
#include "lib/model/model.h"
#include "lib/pipeline/pass_manager.h"
#include "lib/pipeline/pipeline.h"
#include "lib/quantize/quantize_workflow.h"
#include "lib/runtime/cuda.h"
#include "lib/runtime/runtime.h"
#include "lib/util/log.h"
#include "passes/quantize/quantize_preset.h"
#include "passes/register_all_passes.h"
#include "tools/mopt/commands.h"
#include "tools/mopt/data_flags.h"

namespace mopt::cli {
namespace {

struct QuantizeArgs {
  CommonArgs common;
  std::string model, output, mode = "static";
  std::string calib, eval_data, labels, normalize, input_shape;
  int64_t calib_samples = 512, calib_batch = 32, eval_samples = 0;
  std::string calibrator = "minmax", reduce_range = "auto";
  double percentile = 99.99;
  bool per_tensor = false, per_channel = false, symmetric = false;
  std::vector<std::string> skip;
  double max_accuracy_drop = -1, min_sqnr = -1;
  int max_trials = 8, iterations = 100;
  bool require_speedup = false, allow_slower = false, force = false, print_pipeline = false, speed_fallback = true;
  bool time_latency = true;
  std::string device = "cpu";
};

QuantizeSettings quantize_settings(const QuantizeArgs& args) {
  QuantizeSettings settings;
  settings.mode = args.mode;
  settings.calibrator = args.calibrator;
  settings.percentile = args.percentile;
  settings.calib_batch = args.calib_batch;
  settings.per_channel = !args.per_tensor;
  settings.symmetric_activations = args.symmetric;
  settings.skip = args.skip;
  settings.reduce_range = args.reduce_range;
  settings.onnx_output = std::filesystem::path(args.output).extension() == ".onnx";
  settings.gpu = args.device.rfind("cuda", 0) == 0;
  return settings;
}

// --print-pipeline: the text `mopt optimize -p` takes, refused where it would not read back the same.
std::string printable_pipeline(const QuantizeArgs& args) {
  const auto pipeline = quantize_pipeline(quantize_settings(args));
  validate_pipeline(pipeline, make_default_registry());
  const auto text = print_pipeline(pipeline);
  if (!(parse_pipeline(text) == pipeline)) {
    throw usage_error(fmt::format("--print-pipeline: a --skip pattern holds a space, ',' or '}}', which a pipeline option cannot "
                                  "({})", fmt::join(args.skip, " ")));
  }
  if (std::filesystem::path(args.output).extension() == ".onnx" && detect_format(args.model) != ModelFormat::kOnnx) {
    log_info("(run on the model exported to fp32 ONNX)");
  }
  if (const auto settings = quantize_settings(args); quantizes_fp32_baseline(settings)) {
    log_info("(run on the fastest fp32 baseline: {})", fmt::join(fp32_baseline_pipelines(settings.gpu), " | "));
  }
  return text;
}

// What the quantized model is measured against fp32 on: --eval-data (accuracy, if labelled), else the
// calibration inputs, else (dynamic mode needs no data) synthetic inputs from --input-shape or the
// ONNX graph's declared inputs. Without labels only the agreement with fp32 is measured.
Dataset comparison_data(const QuantizeArgs& args, const Dataset& calib) {
  if (!args.eval_data.empty()) return load_data_path(args.eval_data, args.labels, "test", args.eval_samples, args.normalize);
  if (calib.size() > 0) {
    Dataset eval = calib;
    eval.labels = torch::Tensor();
    eval.description = "calibration inputs (no labels)";
    return eval;
  }
  DataArgs synthetic;
  synthetic.input_shape = args.input_shape;
  synthetic = with_graph_input(synthetic, args.model);
  if (synthetic.input_shape.empty()) {
    throw usage_error("give --eval-data DATA, or --input-shape SPEC for synthetic inputs, so the quantized model can be "
                      "measured against fp32");
  }
  auto eval = load_data(synthetic, "test");
  eval.description += " (no labels)";
  log_info("no --eval-data: measuring agreement with fp32 on {}; accuracy is not measured", eval.description);
  return eval;
}

const char* comparison_flag(const QuantizeArgs& args) {
  return !args.eval_data.empty() ? "--eval-data" : !args.calib.empty() ? "--calib" : "--input-shape";
}

// The quantized outputs against fp32's; a model whose outputs barely follow them is still written when
// no target was given, but not silently.
void say_agreement(const nlohmann::json& m) {
  const auto& agreement = m["agreement"];
  const double cosine = agreement["cosine"].get<double>();
  say("output vs fp32: SQNR {:.1f} dB, cosine {:.5f}, {} on {} samples", agreement["sqnr_db"].get<double>(), cosine,
      top1_agreement_text(agreement), m["samples"].get<int64_t>());
  if (cosine < 0.9) {
    say("WARNING: the quantized outputs barely follow fp32's (cosine {:.3f}): check the calibration data, or give "
        "--min-sqnr or --max-accuracy-drop to keep the most sensitive layers in fp32",
        cosine);
  }
}

quant::AccuracyTarget accuracy_target(const QuantizeArgs& args) {
  quant::AccuracyTarget target;
  if (args.max_accuracy_drop >= 0) target.max_accuracy_drop = args.max_accuracy_drop / 100.0;
  if (args.min_sqnr >= 0) target.min_sqnr_db = args.min_sqnr;
  return target;
}

// "INT8 chain: 3 quantize, 12 dequantize; fp32 ops fed by a dequantize: aten::hardswish x9, ...".
void say_boundaries(const nlohmann::json& b) {
  std::vector<std::string> consumers;
  for (const auto& [kind, n] : b["fp32_consumers"].items()) consumers.push_back(fmt::format("{} x{}", kind, n.get<int64_t>()));
  say("INT8 chain: {} quantized ops, {} quantize and {} dequantize boundaries{}{}", b["quantized_ops"].get<int64_t>(),
      b["quantize"].get<int64_t>(), b["dequantize"].get<int64_t>(), consumers.empty() ? "" : "; fp32 ops fed by a dequantize: ",
      fmt::join(consumers, ", "));
}

// Each calibrator's output SQNR, and the warning when the chosen one collapsed (calibrator_verdict.h).
void say_calibrator_check(const nlohmann::json& details) {
  if (!details.contains("calibrator_check")) return;
  const auto& check = details["calibrator_check"];
  std::vector<std::string> scores;
  for (const auto& [name, db] : check["output_sqnr_db"].items()) scores.push_back(fmt::format("{} {:.1f}", name, db.get<double>()));
  say("calibrators, output SQNR dB on {} samples: {}", check["samples"].get<int64_t>(), fmt::join(scores, ", "));
  if (check.contains("warning")) say("WARNING: {}", check["warning"].get<std::string>());
}

void print_outcome(const quant::QuantizeOutcome& outcome, const std::string& in, const std::string& out) {
  const auto& m = outcome.metrics;
  const auto mode = outcome.details["mode"].get<std::string>();
  const bool reduced = mode != "static" && mode != "dynamic";  // fp16, bf16, bf16-compute: no INT8
  const std::string what = mode == "bf16-compute" ? "bf16 weights and compute" : reduced ? mode + " weights" : mode + " INT8";
  say("{} -> {}  ({}, engine {})", in, out, what, active_engine());
  say("{:<28} {:>14} {:>14}", "", "fp32 (opt.)", mode == "bf16-compute" ? "bf16" : reduced ? mode : "int8");
  say_latency_and_accuracy(m);
  if (outcome.details.contains("baseline")) say("  (fp32: {})", outcome.details["baseline"]["pipeline"].get<std::string>());
  say_agreement(m);
  const auto& layers = outcome.details["activations"];
  if (!layers.empty()) {
    say("{:<32} {:>22} {:>10} {:>9}", "activation (producer)", "range", "SQNR dB", "cosine");
    for (const auto& l : layers) {
      say("{:<32} [{:>9.4f},{:>9.4f}] {:>10.1f} {:>9.5f}", l["layer"].get<std::string>(), l["range"][0].get<double>(),
          l["range"][1].get<double>(), l["sqnr_db"].get<double>(), l["cosine"].get<double>());
    }
  }
  say_calibrator_check(outcome.details);
  for (const auto& l : outcome.details["fp32_layers"]) say("kept in fp32: {} ({})", l["layer"].get<std::string>(), l["reason"].get<std::string>());
  if (!reduced) say_boundaries(outcome.details["boundaries"]);
  if (outcome.details.value("silu_as_sigmoid_mul", 0) > 0) {
    say("{} SiLU computed as x * sigmoid(x), which LibTorch keeps INT8 (it has no quantized SiLU)",
        outcome.details["silu_as_sigmoid_mul"].get<int64_t>());
  }
  if (outcome.details.value("cats_channels_last", 0) > 0) {
    say("{} concatenations kept INT8 on LibTorch's channels-last path (their inputs made channels-last first)",
        outcome.details["cats_channels_last"].get<int64_t>());
  }
  if (outcome.details.value("relu6_folded", 0) > 0) {
    say("{} ReLU6 folded into the INT8 op before it (output range set to the clamp's: no clamp and no extra buffer per call)",
        outcome.details["relu6_folded"].get<int64_t>());
  }
  if (!reduced && m["agreement"]["max_abs_diff"].get<double>() == 0.0) {
    // Quantized ops exist but never ran: e.g. nn.TransformerEncoder's eval fast path
    // (_transformer_encoder_layer_fwd) reads the fp32 Linear weights directly.
    say("WARNING: the outputs are bit-identical to fp32: the quantized ops are not on the path this model runs at "
        "inference, so INT8 changes nothing here");
  }
  if (latency_measured(m) && outcome.speedup < 1.0) {
    say("WARNING: the {} model is SLOWER than fp32 ({:.2f}x{}) on this CPU; do not ship it for speed", reduced ? mode : "INT8",
        outcome.speedup, tuned_allocator_clause(m));
  }
}

// A line per node kept in fp32, or, past a screenful (MaxViT: 269), a line per op type and reason
// with the first names; the report lists every node.
void say_fp32_nodes(const nlohmann::json& nodes) {
  constexpr size_t kEachUpTo = 12, kNamesPerGroup = 3;
  if (nodes.size() <= kEachUpTo) {
    for (const auto& s : nodes) {
      say("kept in fp32: {} ({}: {})", s["node"].get<std::string>(), s["op_type"].get<std::string>(), s["reason"].get<std::string>());
    }
    return;
  }
  std::map<std::pair<std::string, std::string>, std::vector<std::string>> groups;  // (op type, reason) -> nodes
  for (const auto& s : nodes) groups[{s["op_type"].get<std::string>(), s["reason"].get<std::string>()}].push_back(s["node"].get<std::string>());
  say("kept in fp32: {} nodes (each in the report's details.quantization.fp32_nodes)", nodes.size());
  for (const auto& [kind, names] : groups) {
    const std::vector<std::string> first(names.begin(), names.begin() + static_cast<std::ptrdiff_t>(std::min(kNamesPerGroup, names.size())));
    say("  {} x{} ({}): {}{}", kind.first, names.size(), kind.second, fmt::join(first, ", "), names.size() > first.size() ? ", ..." : "");
  }
}

// The nodes at the input that ORT's op profile showed slower in INT8, and what keeping them in fp32
// measured for the whole file.
void say_speed_fallback(const nlohmann::json& details) {
  if (!details.contains("speed_fallback")) return;
  const auto& check = details["speed_fallback"];
  std::vector<std::string> names;
  for (const auto& row : check["slower_in_int8"]) {
    say("ONNX Runtime op profile: {} ({}) {:.0f} us per call in INT8, {:.0f} us in fp32", row["node"].get<std::string>(),
        row["op_type"].get<std::string>(), row["int8_us"].get<double>(), row["fp32_us"].get<double>());
    names.push_back(row["node"].get<std::string>());
  }
  if (!check.contains("p50_ms")) return;
  std::string verdict = "written";
  if (!check["adopted"].get<bool>()) {
    verdict = !check.contains("output_sqnr_db")
                  ? "not faster, the all-INT8 file is written"
                  : fmt::format("faster, but less accurate (output SQNR {:.1f} dB against {:.1f}), the all-INT8 file is written",
                                check["output_sqnr_db"]["edge_in_fp32"].get<double>(), check["output_sqnr_db"]["all_int8"].get<double>());
  }
  say("  the file with {} in fp32: p50 {:.3f} ms against {:.3f} ms all INT8, side by side: {}", fmt::join(names, ", "),
      check["p50_ms"]["edge_in_fp32"].get<double>(), check["p50_ms"]["all_int8"].get<double>(), verdict);
}

void print_onnx_outcome(const quant::QuantizeOutcome& outcome, const std::string& in, const std::string& out) {
  const auto& m = outcome.metrics;
  if (outcome.details["mode"] == "dynamic") {
    say("{} -> {}  (dynamic INT8 for ONNX Runtime: int8 weights, activations quantized per call)", in, out);
  } else {
    say("{} -> {}  (static INT8, QDQ for ONNX Runtime, {} calibration)", in, out, outcome.details["calibrator"].get<std::string>());
  }
  say("{:<28} {:>14} {:>14}", "", "fp32 (ORT)", "int8 (ORT)");
  say_latency_and_accuracy(m);
  say_agreement(m);
  if (outcome.details.contains("activations")) {  // the five with the largest error carried on
    auto rows = outcome.details["activations"].get<std::vector<nlohmann::json>>();
    std::sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a["sqnr_db"].template get<double>() < b["sqnr_db"].template get<double>(); });
    say("{:<40} {:>22} {:>10} {:>9}", "activation (lowest SQNR vs fp32)", "range", "SQNR dB", "cosine");
    for (size_t i = 0; i < std::min<size_t>(5, rows.size()); ++i) {
      const auto& l = rows[i];
      say("{:<40} [{:>9.4f},{:>9.4f}] {:>10.1f} {:>9.5f}", l["tensor"].get<std::string>(), l["range"][0].get<double>(),
          l["range"][1].get<double>(), l["sqnr_db"].get<double>(), l["cosine"].get<double>());
    }
  }
  const auto& fusion = outcome.details["onnxruntime_fusion"]["ops"];
  const auto& quantized = outcome.details["quantized_nodes"];
  const auto& left_fp32 = outcome.details["onnxruntime_fusion"]["left_fp32"];  // not counting nodes kept fp32 on purpose
  int unfused = 0;
  for (const auto& [op, c] : fusion.items()) {
    const int left = left_fp32[op].get<int>();
    unfused += left;
    say("ONNX Runtime: {} of {} {} run as INT8 kernels; {} left fp32", c["int8"].get<int>(), quantized.value(op, 0), op, left);
  }
  say_fp32_nodes(outcome.details["fp32_nodes"]);
  say_speed_fallback(outcome.details);
  if (outcome.details.contains("fp32_op_types") && !outcome.details["fp32_op_types"].empty()) {
    std::vector<std::string> kinds;
    for (const auto& [op, count] : outcome.details["fp32_op_types"].items()) kinds.push_back(fmt::format("{} x{}", op, count.get<int>()));
    say("kept in fp32 (op kinds mopt does not quantize): {}", fmt::join(kinds, ", "));
  }
  if (outcome.details.contains("calibration")) {
    const auto& cal = outcome.details["calibration"];
    say("calibration: {} samples, peak memory {:.0f} MB", cal["samples"].get<int64_t>(), cal["peak_rss_mb"].get<double>());
  }
  say_calibrator_check(outcome.details);
  if (unfused > 0) say("WARNING: {} compute nodes run in fp32 inside the INT8 model (see above)", unfused);
  if (latency_measured(m) && outcome.speedup < 1.0) {
    say("WARNING: the INT8 model is SLOWER than fp32 in ONNX Runtime ({:.2f}x) on this CPU; do not ship it for speed", outcome.speedup);
  }
}

// An .onnx input quantized to TorchScript: the table above compares the INT8 file with mopt's
// optimized fp32 import in LibTorch, but the input's users run it in ONNX Runtime (as `mopt bench`
// of it does), so the INT8 file is also measured against that.
void print_vs_input_as_given(const nlohmann::json& against, const std::string& mode) {
  say("{:<28} {:>14} {:>14}", "vs the input as given", "input (ORT)", "int8 (libtorch)");
  say_latency(against, "latency p50 (ms, b=1)");
  const auto& g = against["agreement"];
  say("output vs the .onnx in onnxruntime: cosine {:.5f}, {} on {} samples", g["cosine"].get<double>(),
      top1_agreement_text(g), against["samples"].get<int64_t>());
  if (latency_measured(against) && against["speedup_p50"].get<double>() < 1.0) {
    say("WARNING: the {} file in libtorch is SLOWER than the input in onnxruntime ({:.2f}x{}); where speed matters keep "
        "the .onnx, or quantize to .onnx (`-o OUT.onnx`: QDQ that ONNX Runtime runs as INT8)",
        mode == "static" || mode == "dynamic" ? "INT8" : mode, against["speedup_p50"].get<double>(), tuned_allocator_clause(against));
  }
}

void run_quantize_command(QuantizeArgs& args, Report& report) {
  if (args.print_pipeline) {  // names passes only: no GPU needed to print a GPU pipeline
    say("{}", printable_pipeline(args));
    return;
  }
  // First: LibTorch's CUDA half must load before anything asks LibTorch about CUDA.
  args.device = resolve_device(args.device).str();
  quant::QuantizeRequest request;
  request.model = args.model;
  request.output = args.output;
  request.force = args.force;
  request.mode = args.mode;
  const auto settings = quantize_settings(args);
  request.pipeline = quantize_pipeline(settings);
  request.fp32_baselines = fp32_baseline_pipelines(settings.gpu);
  request.on_baseline = quantizes_fp32_baseline(settings);
  request.comparison.device = args.device;
  request.target = accuracy_target(args);
  request.max_trials = args.max_trials;
  request.comparison.iterations = args.iterations;
  request.comparison.time_latency = args.time_latency;
  request.require_speedup = args.require_speedup;
  request.allow_slower = args.allow_slower;
  request.speed_fallback = args.speed_fallback;
  make_calibrator(args.calibrator, CalibratorOptions{});  // unknown name -> exit 2 before any work
  if (args.mode == "static" && args.calib.empty()) throw usage_error("--mode static needs --calib DATA (calibration inputs)");
  request.load_data = [&args](quant::QuantizeRequest& r) {
    if (args.mode == "static") {
      r.calib = load_data_path(args.calib, "", "train", args.calib_samples, args.normalize);
      r.calib.labels = torch::Tensor();  // calibration needs none; a folder's labels must not count as eval labels
      log_info("calibration: {}", r.calib.description);
    }
    r.eval = comparison_data(args, r.calib);
    r.eval_flag = comparison_flag(args);
  };

  quant::run_quantize(request, make_default_registry(), report, [&](const quant::QuantizeOutcome& outcome) {
    if (outcome.onnx_output) {
      print_onnx_outcome(outcome, args.model, args.output);
    } else {
      print_outcome(outcome, args.model, args.output);
      if (!outcome.vs_input_as_given.is_null()) print_vs_input_as_given(outcome.vs_input_as_given, args.mode);
    }
    warn_if_busy(report);
  });
}

}  // namespace

void setup_quantize(CLI::App& app) {
  auto args = std::make_shared<QuantizeArgs>();
  auto* cmd = app.add_subcommand("quantize", "INT8 quantization (dynamic or calibrated static) with measured accuracy and speed");
  cmd->add_option("MODEL", args->model, "TorchScript or ONNX model")->required();
  cmd->add_option("-o,--output", args->output, "output (.pt, .ptl for the lite interpreter, or .onnx: QDQ for ONNX Runtime; a TorchScript input is exported to ONNX first)")->required();
  cmd->add_option("--mode", args->mode,
                  "static (calibrated INT8), dynamic (INT8 Linear), fp16 or bf16 (weight storage), bf16-compute (weights and "
                  "activations in bfloat16: fast on CPUs with AMX or AVX512-BF16)")
      ->check(CLI::IsMember({"static", "dynamic", "fp16", "bf16", "bf16-compute"}));
  cmd->add_option("--device", args->device, "cpu, cuda or cuda:N (default cpu). On a GPU, --mode fp16 or bf16 computes in "
                  "half precision (weights and activations), measured there against the fastest fp32 baseline")
      ->type_name("DEVICE");
  cmd->add_option("--calib", args->calib, "calibration data (train split of a folder by default)")->type_name("DATA");
  cmd->add_option("--calib-samples", args->calib_samples, "calibration samples (default 512)")->check(CLI::PositiveNumber);
  cmd->add_option("--calib-batch", args->calib_batch, "calibration batch size (default 32)")->check(CLI::PositiveNumber);
  cmd->add_option("--calibrator", args->calibrator, "minmax, moving-average, percentile, entropy or mse");
  cmd->add_option("--percentile", args->percentile, "percentile for --calibrator percentile (default 99.99)");
  auto* per_tensor = cmd->add_flag("--per-tensor", args->per_tensor, "one weight scale per tensor");
  cmd->add_flag("--per-channel", args->per_channel, "one weight scale per output channel (default)")->excludes(per_tensor);
  cmd->add_flag("--symmetric-activations", args->symmetric, "symmetric activation ranges (zero point 128) instead of affine");
  cmd->add_option("--reduce-range", args->reduce_range,
                  "ONNX output: 7-bit int8 weights, which ONNX Runtime needs on x86 CPUs without VNNI (its int16 sums "
                  "saturate there): auto (default: where this CPU has no VNNI), on (for such deployment hosts), off")
      ->check(CLI::IsMember({"auto", "on", "off"}));
  cmd->add_option("--skip", args->skip, "keep layers (ONNX: node or weight names) matching this glob in fp32 (repeatable)")->type_name("PATTERN");
  cmd->add_option("--eval-data", args->eval_data, "evaluation data with labels (test split by default); optional: "
                  "without it the quantized model is compared with fp32 on the --calib inputs, or on synthetic ones")
      ->type_name("DATA");
  cmd->add_option("--input-shape", args->input_shape, "synthetic inputs for the comparison with fp32 when there is no "
                  "--eval-data or --calib (an .onnx input's declared shapes by default), e.g. 'x:1x3x224x224:float32'")
      ->type_name("SPEC");
  cmd->add_option("--labels", args->labels, "labels for an --eval-data file")->type_name("FILE");
  cmd->add_option("--eval-samples", args->eval_samples, "evaluate on the first N samples (0 = all)");
  cmd->add_option("--normalize", args->normalize, "MEAN,STD or M1,M2,M3/S1,S2,S3 for uint8 images")->type_name("MEAN,STD");
  cmd->add_option("--max-accuracy-drop", args->max_accuracy_drop, "accuracy points the INT8 model may lose; falls back layer by layer (ONNX: node by node, trials run in ONNX Runtime)")
      ->type_name("POINTS");
  cmd->add_option("--min-sqnr", args->min_sqnr, "minimum output SQNR vs fp32 in dB; falls back layer by layer")->type_name("DB");
  cmd->add_option("--max-trials", args->max_trials, "fallback trials (default 8)")->check(CLI::PositiveNumber);
  cmd->add_option("--iterations", args->iterations, "timed calls for the latency comparison")->check(CLI::PositiveNumber);
  add_no_latency_flag(*cmd, args->time_latency);
  cmd->add_flag("--require-speedup", args->require_speedup, "fail (exit 3, no artifact) if INT8 is not faster than fp32 (frozen + optimized, channels-last if faster; "
                "for an .onnx input, also the .onnx in ONNX Runtime)");
  cmd->add_flag("--allow-slower", args->allow_slower, "write the result even when it is slower than fp32 (by default a slower "
                "INT8 or bf16-compute model exits 3 with nothing written; fp16/bf16 weight storage, which is for size, is "
                "always written)");
  cmd->add_flag_callback("--no-speed-fallback", [args] { args->speed_fallback = false; },
                "QDQ output: do not profile both files in ONNX Runtime to keep in fp32 the nodes at the input that run "
                "slower in INT8 there (a network's first convolution, often); the file then does not depend on timings");
  cmd->add_flag("--force", args->force, "allow writing over the input model");
  cmd->add_flag("--print-pipeline", args->print_pipeline,
                "print the pass pipeline this quantization is (for `mopt optimize -p ... --calib DATA`) and exit");
  add_common_flags(*cmd, args->common);
  cmd->footer(std::string("Examples:\n"
                          "  mopt quantize cnn.pt -o cnn.int8.pt --calib /usr/share/datasets/fashion-mnist \\\n"
                          "      --eval-data /usr/share/datasets/fashion-mnist --normalize 0.286,0.353 --calibrator entropy\n"
                          "  mopt quantize mlp.pt -o mlp.int8.pt --mode dynamic --eval-data inputs.npy\n"
                          "  mopt quantize bert.onnx -o bert.int8.onnx --mode dynamic   # no data: agreement on synthetic inputs\n"
                          "  mopt quantize mlp.pt -o mlp.int8.pt --mode dynamic --eval-data inputs.npy --no-latency   # accuracy only, faster\n"
                          "  mopt quantize resnet18.onnx -o resnet18.int8.onnx --calib calib.npy   # QDQ, measured in ONNX Runtime\n"
                          "  mopt quantize cnn.pt -o cnn.int8.onnx --calib DATA   # exported to fp32 ONNX, then QDQ\n"
                          "  mopt quantize cnn.onnx -o cnn.int8.onnx --calib DATA --eval-data DATA --min-sqnr 35   # fp32 fallback\n"
                          "  mopt quantize cnn.pt -o cnn.int8.pt --calib DATA --eval-data DATA --max-accuracy-drop 0.5 --skip 'features.0'\n"
                          "  mopt quantize resnet18.pt -o resnet18.bf16.pt --mode bf16-compute --eval-data DATA   # AMX/AVX512-BF16 CPUs\n"
                          "  mopt quantize resnet50.pt -o resnet50.fp16.pt --mode fp16 --device cuda --input-shape 1x3x224x224   # fp16 on a GPU\n"
                          "  mopt quantize cnn.onnx -o cnn.int8.onnx --calibrator entropy --print-pipeline   # the passes it runs\n\n") +
              exit_codes_help());
  cmd->callback([args] { run_reported("quantize", args->common, [&](Report& report) { run_quantize_command(*args, report); }); });
}

}  // namespace mopt::cli
