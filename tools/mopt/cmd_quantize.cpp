// mopt quantize MODEL -o OUT: dynamic or calibrated static INT8 with per-layer error,
// accuracy-aware fallback and speed measured against the fp32 model in the same run.
#include <ATen/Parallel.h>
#include <algorithm>
#include <map>

#include "lib/errors.h"
#include "lib/eval/evaluate.h"
#include "lib/eval/model_comparison.h"
#include "lib/onnx/export/onnx_exporter.h"
#include "lib/onnx/import/onnx_importer.h"
#include "lib/pipeline/pass_manager.h"
#include "lib/pipeline/pipeline.h"
#include "lib/runtime/runtime.h"
#include "lib/util/log.h"
#include "lib/util/scratch_dir.h"
#include "passes/onnx/onnx_passes.h"
#include "passes/quantize/onnx/onnx_quantize_workflow.h"
#include "passes/quantize/quantize_errors.h"
#include "passes/quantize/quantize_workflow.h"
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
  std::string calibrator = "minmax";
  double percentile = 99.99;
  bool per_tensor = false, per_channel = false, symmetric = false;
  std::vector<std::string> skip;
  double max_accuracy_drop = -1, min_sqnr = -1;
  int max_trials = 8, iterations = 100;
  bool require_speedup = false, force = false, print_pipeline = false;
  bool time_latency = true;
};

// The pass pipeline this quantization writes: what `mopt optimize -p PIPELINE --calib DATA` runs.
// (quantize adds the fp32 baseline, the accuracy fallback and the measurement in the deployment runtime.)
std::string quantize_pipeline(const QuantizeArgs& args, const PassRegistry& registry) {
  const bool onnx_out = std::filesystem::path(args.output).extension() == ".onnx";
  if (args.mode == "fp16" || args.mode == "bf16") {
    if (onnx_out) throw usage_error(fmt::format("--mode {} is not available for ONNX output yet", args.mode));
    return print_pipeline(parse_pipeline(fmt::format("store-weights{{dtype={}}}", args.mode)));
  }
  if (args.mode != "static" && args.mode != "dynamic") {
    throw usage_error(fmt::format("--print-pipeline: --mode {} has no pass yet (it computes on the measured fp32 "
                                  "baseline: static, dynamic, fp16 and bf16 have)", args.mode));
  }
  for (const auto& glob : args.skip) {
    if (glob.find_first_of(" \t,}") != std::string::npos) {
      throw usage_error(fmt::format("--print-pipeline: --skip '{}' holds a space, ',' or '}}', which a pipeline option cannot", glob));
    }
  }
  PassInvocation step{"quantize-" + args.mode, {}};
  if (args.mode == "static") {
    step.options = {{"calibrator", args.calibrator}, {"calib-batch", std::to_string(args.calib_batch)}};
    if (args.calibrator == "percentile") step.options.push_back({"percentile", fmt::format("{}", args.percentile)});
    if (args.symmetric) step.options.push_back({"symmetric-activations", "true"});
  }
  step.options.push_back({"per-channel", args.per_tensor ? "false" : "true"});
  if (!args.skip.empty()) step.options.push_back({"skip", fmt::format("{}", fmt::join(args.skip, ","))});
  Pipeline pipeline = onnx_out ? parse_pipeline(kOnnxCleanupPipeline) : Pipeline{};
  pipeline.steps.push_back(step);
  validate_pipeline(pipeline, registry);
  if (onnx_out && detect_format(args.model) != ModelFormat::kOnnx) log_info("(run on the model exported to fp32 ONNX)");
  return print_pipeline(pipeline);
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

// Gates: an accuracy target that was not met, or a slowdown with --require-speedup, writes nothing.
void enforce_gates(const quant::AccuracyTarget& target, bool target_met, const nlohmann::json& metrics, bool require_speedup,
                   double speedup, Report& report) {
  std::vector<std::string> failed;
  if (target.active()) {
    report.add_gate("accuracy-target", "quantized within --max-accuracy-drop/--min-sqnr", target_met, metrics["agreement"]["sqnr_db"]);
    if (!target_met) failed.push_back("accuracy target not met after all trials");
  }
  if (require_speedup) {
    report.add_gate("require-speedup", "int8 p50 < fp32 p50 (and < an .onnx input's in ONNX Runtime)", speedup > 1.0, speedup);
    if (speedup <= 1.0) failed.push_back(fmt::format("INT8 is not faster ({:.2f}x)", speedup));
  }
  if (!failed.empty()) throw Error(ExitCode::kGateFailed, fmt::format("{}; no artifact written", fmt::join(failed, "; ")));
}

// invalid_input unless the model runs on `sample` (the first row of each of FLAG's inputs).
void check_model_runs_on(const Model& model, const std::vector<torch::Tensor>& sample, const char* flag) {
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
                                    flag, fmt::join(sample.front().sizes(), ", "), quant::torch_error_reason(e.what())));
  }
}

// "INT8 chain: 3 quantize, 12 dequantize; fp32 ops fed by a dequantize: aten::hardswish x9, ...".
void say_boundaries(const nlohmann::json& b) {
  std::vector<std::string> consumers;
  for (const auto& [kind, n] : b["fp32_consumers"].items()) consumers.push_back(fmt::format("{} x{}", kind, n.get<int64_t>()));
  say("INT8 chain: {} quantized ops, {} quantize and {} dequantize boundaries{}{}", b["quantized_ops"].get<int64_t>(),
      b["quantize"].get<int64_t>(), b["dequantize"].get<int64_t>(), consumers.empty() ? "" : "; fp32 ops fed by a dequantize: ",
      fmt::join(consumers, ", "));
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

void print_onnx_outcome(const onnx_quant::OnnxQuantizeOutcome& outcome, const std::string& in, const std::string& out) {
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
  for (const auto& [op, c] : fusion.items()) {
    say("ONNX Runtime: {} of {} {} run as INT8 kernels; {} left fp32", c["int8"].get<int>(), quantized.value(op, 0), op,
        c["fp32"].get<int>());
  }
  say_fp32_nodes(outcome.details["fp32_nodes"]);
  if (outcome.details.contains("fp32_op_types") && !outcome.details["fp32_op_types"].empty()) {
    std::vector<std::string> kinds;
    for (const auto& [op, count] : outcome.details["fp32_op_types"].items()) kinds.push_back(fmt::format("{} x{}", op, count.get<int>()));
    say("kept in fp32 (op kinds mopt does not quantize): {}", fmt::join(kinds, ", "));
  }
  if (outcome.details.contains("calibration")) {
    const auto& cal = outcome.details["calibration"];
    say("calibration: {} samples, peak memory {:.0f} MB", cal["samples"].get<int64_t>(), cal["peak_rss_mb"].get<double>());
  }
  int unfused = 0;
  for (const auto& [op, c] : fusion.items()) unfused += c["fp32"].get<int>();
  if (unfused > 0) say("WARNING: {} compute nodes run in fp32 inside the INT8 model (see above)", unfused);
  if (latency_measured(m) && outcome.speedup < 1.0) {
    say("WARNING: the INT8 model is SLOWER than fp32 in ONNX Runtime ({:.2f}x) on this CPU; do not ship it for speed", outcome.speedup);
  }
}

// An .onnx input quantized to TorchScript: the table above compares the INT8 file with mopt's
// optimized fp32 import in LibTorch, but the input's users run it in ONNX Runtime (as `mopt bench`
// of it does), so the INT8 file is also measured against that.
nlohmann::json compare_with_onnx_input(const Model& given, const Model& int8, const quant::QuantizeRequest& request,
                                       const std::string& mode) {
  auto against = compare_models(given, int8, request.eval, request.comparison);
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
  return against;
}

// ONNX out: QDQ that ONNX Runtime fuses, measured in ONNX Runtime. A TorchScript input is exported
// to fp32 ONNX first (the exporter of `mopt optimize -o x.onnx`), and that export is the fp32
// baseline the INT8 file is measured against.
void run_onnx_quantize_command(const QuantizeArgs& args, Report& report) {
  if (args.mode != "static" && args.mode != "dynamic") {
    throw usage_error(fmt::format("--mode {} is not available for ONNX output yet; use static or dynamic, or -o MODEL.pt "
                                  "for LibTorch", args.mode));
  }
  const bool dynamic = args.mode == "dynamic";
  if (!dynamic && args.calib.empty()) throw usage_error("--mode static needs --calib DATA (calibration inputs)");
  auto input = Model::load(args.model);
  report.add_input(args.model, &input);
  make_calibrator(args.calibrator, CalibratorOptions{});  // unknown name -> exit 2 before any work

  onnx_quant::OnnxQuantizeRequest request;
  request.fp32_path = args.model;
  request.mode = args.mode;
  request.options.per_channel = !args.per_tensor;
  request.options.symmetric_activations = args.symmetric;
  request.options.skip = args.skip;
  request.calibrator = args.calibrator;
  request.calibrator_options.percentile = args.percentile;
  request.calib_batch = args.calib_batch;
  request.comparison.iterations = args.iterations;
  request.comparison.time_latency = args.time_latency;
  request.threads = at::get_num_threads();
  request.target = accuracy_target(args);
  request.max_trials = args.max_trials;
  if (!dynamic) {
    request.calib = load_data_path(args.calib, "", "train", args.calib_samples, args.normalize);
    request.calib.labels = torch::Tensor();  // calibration needs none; a folder's labels must not count as eval labels
    log_info("calibration: {}", request.calib.description);
  }
  request.eval = comparison_data(args, request.calib);

  ScratchDir scratch("mopt-quantize");
  nlohmann::json exported_fp32;  // null for an ONNX input
  if (input.is_torchscript()) {
    const auto& sample = dynamic ? request.eval : request.calib;
    check_model_runs_on(input, sample.input_rows(0, 1), dynamic ? comparison_flag(args) : "--calib");
    input = export_like(input, sample.input_rows(0, 1));
    request.fp32_path = scratch.file("fp32.onnx");
    input.save(request.fp32_path);
    log_info("exported to fp32 ONNX (opset {}) as the baseline to quantize and measure against", ExportOptions{}.opset);
    exported_fp32 = {{"opset", ExportOptions{}.opset}, {"nodes", input.onnx().graph().node_size()}};
  }

  auto registry = make_default_registry();
  auto prepared = run_pipeline(input, parse_pipeline(kOnnxCleanupPipeline), registry, [](size_t, size_t, const std::string&) {});
  report.set_pipeline(kOnnxCleanupPipeline, prepared.records);
  auto outcome = onnx_quant::run_onnx_quantize(prepared.model.onnx(), request, [](const std::string& line) { log_info("{}", line); });
  report.metrics() = outcome.metrics;
  report.details()["quantization"] = outcome.details;
  if (!exported_fp32.is_null()) report.details()["quantization"]["exported_fp32"] = exported_fp32;
  print_onnx_outcome(outcome, args.model, args.output);
  warn_if_busy(report);
  enforce_gates(request.target, outcome.target_met, outcome.metrics, args.require_speedup, outcome.speedup, report);
  auto model = Model::from_onnx(std::move(outcome.model));
  model.save(args.output);
  report.add_output(args.output, &model);
}

void run_quantize_command(const QuantizeArgs& args, Report& report) {
  if (args.print_pipeline) {
    say("{}", quantize_pipeline(args, make_default_registry()));
    return;
  }
  if (args.require_speedup && !args.time_latency) {
    throw usage_error("--require-speedup compares the timed INT8 and fp32 files: it cannot run with --no-latency");
  }
  check_output_path(args.model, args.output, args.force);
  if (std::filesystem::path(args.output).extension() == ".onnx") return run_onnx_quantize_command(args, report);
  require_torchscript_output(args.output);
  auto fp32 = load_executable(args.model);
  report.add_input(args.model, &fp32);

  quant::QuantizeRequest request;
  request.mode = args.mode;
  request.config.calibrator = args.calibrator;
  request.config.calibrator_options.percentile = args.percentile;
  request.config.per_channel = !args.per_tensor;
  request.config.symmetric_activations = args.symmetric;
  request.config.calib_batch = args.calib_batch;
  request.config.skip_modules = quant::quantizable_modules_matching(args.skip, fp32);
  request.max_trials = args.max_trials;
  request.comparison.iterations = args.iterations;
  request.comparison.allocator_check = true;
  request.comparison.time_latency = args.time_latency;
  request.target = accuracy_target(args);
  make_calibrator(args.calibrator, request.config.calibrator_options);  // unknown name -> exit 2 before any work

  if (args.mode == "static") {
    if (args.calib.empty()) throw usage_error("--mode static needs --calib DATA (calibration inputs)");
    request.calib = load_data_path(args.calib, "", "train", args.calib_samples, args.normalize);
    log_info("calibration: {}", request.calib.description);
  }
  request.eval = comparison_data(args, request.calib);

  // Data that does not fit the model is the user's input, not a quantization failure (exit 4).
  check_model_runs_on(fp32, request.eval.input_rows(0, 1), comparison_flag(args));
  // The quantizer words its own failures; this catches LibTorch errors from the steps around it
  // (the fp32 baseline, saving and reloading, measuring), so none reaches the user raw.
  auto outcome = quant::quantization_stage(
      "building or measuring the quantized model",
      "Try --mode dynamic or --mode fp16, keep a layer in fp32 with --skip LAYER, and report the model", [&] {
        return quant::run_quantize(fp32, request, [](const std::string& line) { log_info("{}", line); });
      });
  report.metrics() = outcome.metrics;
  report.details()["quantization"] = outcome.details;
  report.details()["quantization"]["engine"] = active_engine();
  print_outcome(outcome, args.model, args.output);
  double gated_speedup = outcome.speedup;  // --require-speedup: faster than every fp32 the user could run
  if (const Model given = as_given(args.model, fp32); given.is_onnx()) {
    const auto against = compare_with_onnx_input(given, outcome.model, request, args.mode);
    report.details()["quantization"]["vs_input_as_given"] = against;
    if (latency_measured(against)) gated_speedup = std::min(gated_speedup, against["speedup_p50"].get<double>());
  }
  warn_if_busy(report);

  enforce_gates(request.target, outcome.target_met, outcome.metrics, args.require_speedup, gated_speedup, report);

  outcome.model.set_extra_file("mopt.json", nlohmann::json({{"quantized_engine", active_engine()},
                                                            {"mode", args.mode},
                                                            {"calibrator", args.calibrator}}).dump());
  outcome.model.save(args.output);
  report.add_output(args.output, &outcome.model);
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
  cmd->add_option("--calib", args->calib, "calibration data (train split of a folder by default)")->type_name("DATA");
  cmd->add_option("--calib-samples", args->calib_samples, "calibration samples (default 512)")->check(CLI::PositiveNumber);
  cmd->add_option("--calib-batch", args->calib_batch, "calibration batch size (default 32)")->check(CLI::PositiveNumber);
  cmd->add_option("--calibrator", args->calibrator, "minmax, moving-average, percentile, entropy or mse");
  cmd->add_option("--percentile", args->percentile, "percentile for --calibrator percentile (default 99.99)");
  auto* per_tensor = cmd->add_flag("--per-tensor", args->per_tensor, "one weight scale per tensor");
  cmd->add_flag("--per-channel", args->per_channel, "one weight scale per output channel (default)")->excludes(per_tensor);
  cmd->add_flag("--symmetric-activations", args->symmetric, "symmetric activation ranges (zero point 128) instead of affine");
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
                          "  mopt quantize cnn.onnx -o cnn.int8.onnx --calibrator entropy --print-pipeline   # the passes it runs\n\n") +
              exit_codes_help());
  cmd->callback([args] { run_reported("quantize", args->common, [&](Report& report) { run_quantize_command(*args, report); }); });
}

}  // namespace mopt::cli
