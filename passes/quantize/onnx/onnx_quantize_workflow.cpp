#include "passes/quantize/onnx/onnx_quantize_workflow.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <set>

#include "lib/errors.h"
#include "lib/eval/evaluate.h"
#include "lib/model/model.h"
#include "lib/model/onnx_io.h"
#include "lib/onnx/graph_utils.h"
#include "lib/onnx/import/onnx_importer.h"
#include "lib/runtime/onnxruntime_runner.h"
#include "lib/util/scratch_dir.h"
#include "passes/quantize/accuracy_target.h"
#include "passes/quantize/onnx/activation_calibration.h"
#include "passes/quantize/onnx/dynamic_quantizer.h"

namespace mopt::onnx_quant {
namespace {

// ORT's INT8 kernels and the fp32 op each replaces (com.microsoft and default domains alike).
const std::map<std::string, std::string> kInt8Kernels = {
    {"QLinearConv", "Conv"},       {"QGemm", "Gemm"},       {"QLinearMatMul", "MatMul"},
    {"MatMulIntegerToFloat", "MatMul"}, {"DynamicQuantizeMatMul", "MatMul"}, {"MatMulInteger", "MatMul"},
    {"QLinearAdd", "Add"}, {"QLinearMul", "Mul"},
    {"QLinearConcat", "Concat"},   {"QLinearAveragePool", "AveragePool"},
    {"QLinearGlobalAveragePool", "GlobalAveragePool"}, {"QLinearSigmoid", "Sigmoid"}, {"QLinearSoftmax", "Softmax"},
    {"QLinearLeakyRelu", "LeakyRelu"}, {"DynamicQuantizeLSTM", "LSTM"}};
// fp32 compute kinds as they appear after ORT's fp32 fusions.
const std::map<std::string, std::string> kFp32Kernels = {
    {"Conv", "Conv"}, {"FusedConv", "Conv"}, {"Gemm", "Gemm"}, {"FusedGemm", "Gemm"}, {"MatMul", "MatMul"}, {"FusedMatMul", "MatMul"}, {"LSTM", "LSTM"}};

// Error each quantized activation carries into its consumers, accumulated from the input on: the
// QDQ model's tensor, quantized and dequantized with its own parameters (what its DQs hand on),
// against the fp32 model's tensor, on the first few evaluation samples.
nlohmann::json activation_errors(const onnx::ModelProto& fp32, const onnx::ModelProto& qdq, const std::vector<std::string>& tensors,
                                 const nlohmann::json& params, const nlohmann::json& ranges, const Dataset& data,
                                 bool symmetric) {
  auto sample = data.input_rows(0, std::min<int64_t>(8, data.size()));
  std::vector<torch::Tensor> reference(tensors.size());
  auto nothing = [](int64_t, int64_t) {};
  run_watched(fp32, tensors, sample, sample.front().size(0), [&](size_t i, const torch::Tensor& t) { reference[i] = t; }, nothing);
  nlohmann::json rows = nlohmann::json::array();
  run_watched(qdq, tensors, sample, sample.front().size(0), [&](size_t i, const torch::Tensor& t) {
    const auto& p = params.at(tensors[i]);
    double scale = p["scale"].get<double>();
    int64_t zero_point = p["zero_point"].get<int64_t>();
    auto q = torch::clamp(torch::round(t / scale) + zero_point, symmetric ? -128 : 0, symmetric ? 127 : 255);
    auto seen = (q - zero_point) * scale;
    auto comparison = compare_outputs(reference[i], seen);
    rows.push_back({{"tensor", tensors[i]}, {"range", ranges.at(i)["range"]}, {"scale", scale}, {"zero_point", zero_point},
                    {"sqnr_db", comparison.sqnr_db}, {"cosine", comparison.cosine}});
  }, nothing);
  return rows;
}

double calib_megabytes(const Dataset& calib) {
  double bytes = 0;
  for (const auto& input : calib.input_list()) bytes += static_cast<double>(input.nbytes());
  return bytes / 1048576.0;
}

}  // namespace

nlohmann::json count_ort_fusions(const onnx::ModelProto& optimized) {
  std::map<std::string, std::pair<int, int>> counts;  // source op -> (int8 kernels, fp32 nodes)
  int quantize_nodes = 0;
  std::set<std::string> dequantized, graph_outputs;
  for (const auto& node : optimized.graph().node()) {
    if (node.op_type() == "DequantizeLinear") dequantized.insert(node.output(0));
  }
  for (const auto& output : optimized.graph().output()) graph_outputs.insert(output.name());
  for (const auto& node : optimized.graph().node()) {
    const auto& op = node.op_type();
    if (op == "QuantizeLinear" || op == "DequantizeLinear") ++quantize_nodes;
    if (auto it = kInt8Kernels.find(op); it != kInt8Kernels.end()) ++counts[it->second].first;
    if (auto it = kFp32Kernels.find(op); it != kFp32Kernels.end()) ++counts[it->second].second;
    // A table op counts as left in fp32 only where ORT left one that reads a DequantizeLinear inside
    // the graph: one mopt planned INT8 (elsewhere it is fp32 by design).
    if (is_table_op(op) && node.input_size() > 0 && dequantized.count(node.input(0)) && !graph_outputs.count(node.output(0))) {
      ++counts[op].second;
    }
  }
  nlohmann::json ops = nlohmann::json::object();
  for (const auto& [op, c] : counts) ops[op] = {{"int8", c.first}, {"fp32", c.second}};
  return {{"ops", ops}, {"quantize_dequantize_nodes", quantize_nodes}, {"nodes", optimized.graph().node_size()}};
}

namespace {

// One configuration tried: the nodes returned to fp32 so far, the model built with them, and the
// saved file measured against the fp32 input in ORT.
struct QdqTrial {
  std::vector<std::string> fallback;
  QdqPlan plan;
  onnx::ModelProto model;
  nlohmann::json summary;
  nlohmann::json metrics;
  std::filesystem::path file;
};

// The quantized node with the lowest activation SQNR not yet in fp32, or "" when returning it
// would leave nothing quantized.
std::string most_sensitive_node(const onnx::ModelProto& prepared, const QdqTrial& trial) {
  if (trial.plan.targets.size() <= 1 || !trial.summary.contains("activations")) return "";
  auto rows = trial.summary["activations"].get<std::vector<nlohmann::json>>();
  std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) {
    return a["sqnr_db"].template get<double>() < b["sqnr_db"].template get<double>();
  });
  for (const auto& row : rows) {
    for (const auto& node : nodes_touching(prepared, trial.plan, row["tensor"].get<std::string>())) {
      if (std::find(trial.fallback.begin(), trial.fallback.end(), node) == trial.fallback.end()) return node;
    }
  }
  return "";
}

}  // namespace

OnnxQuantizeOutcome run_onnx_quantize(const onnx::ModelProto& prepared, const OnnxQuantizeRequest& request,
                                      const std::function<void(const std::string&)>& log) {
  const bool dynamic = request.mode == "dynamic";
  if (request.target.max_accuracy_drop && !request.eval.has_labels()) {
    throw usage_error("--max-accuracy-drop needs --eval-data with labels");
  }
  // Data the declared inputs rule out is refused now, not after calibration at ONNX Runtime's first run.
  if (!dynamic) check_fits_declared_inputs(prepared, request.calib.input_rows(0, 1), request.calib.description);
  check_fits_declared_inputs(prepared, request.eval.input_rows(0, 1), request.eval.description);
  ScratchDir scratch("mopt-quantize");
  auto comparison = request.comparison;
  comparison.threads = request.threads;
  std::map<std::string, Range> ranges;  // calibrated once per tensor, reused by every trial
  nlohmann::json calibration;

  auto attempt = [&](const std::vector<std::string>& fallback) {
    QdqTrial trial;
    trial.fallback = fallback;
    auto options = request.options;
    options.fallback = {fallback.begin(), fallback.end()};
    if (dynamic) {
      trial.model = apply_dynamic(prepared, options.skip, options.per_channel, trial.summary);
      const auto& counts = trial.summary["quantized_nodes"];
      if (counts.empty()) {
        throw invalid_input("the model has no MatMul with a constant 2-D weight and no LSTM for dynamic INT8; use --mode static");
      }
      log(fmt::format("dynamic INT8: {} MatMul and {} LSTM nodes", counts.value("MatMul", 0), counts.value("LSTM", 0)));
    } else {
      trial.plan = plan_qdq(prepared, options);
      if (trial.plan.targets.empty()) {
        throw invalid_input("the model has no op mopt can quantize (Conv, Gemm, MatMul, Add, Mul, Concat, pooling)");
      }
      std::vector<std::string> missing;
      for (const auto& name : trial.plan.calibrate) {
        if (!ranges.count(name)) missing.push_back(name);
      }
      if (!missing.empty()) {
        log(fmt::format("QDQ plan: {} nodes to quantize, {} activation ranges to calibrate ({})", trial.plan.targets.size(),
                        missing.size(), request.calibrator));
        auto result = calibrate_tensors(prepared, missing, request.calib.input_list(), request.calibrator, request.calibrator_options,
                                        request.calib_batch, log);
        ranges.insert(result.ranges.begin(), result.ranges.end());
        if (calibration.is_null()) {
          calibration = {{"samples", result.samples}, {"batch", request.calib_batch}, {"peak_rss_mb", result.peak_rss_mb},
                         {"data_mb", calib_megabytes(request.calib)}};
        }
      }
      trial.model = apply_qdq(prepared, trial.plan, ranges, options, trial.summary);
    }
    check_model_strictly(trial.model, "the QDQ model");
    if (!dynamic) {
      nlohmann::json activation_ranges = nlohmann::json::array();
      for (const auto& name : trial.plan.calibrate) activation_ranges.push_back({{"tensor", name}, {"range", {ranges.at(name).min, ranges.at(name).max}}});
      log("measuring each activation's error against fp32 (LibTorch, through the importer) ...");
      trial.summary["activations"] = activation_errors(prepared, trial.model, trial.plan.calibrate, trial.summary["activation_params"],
                                                       activation_ranges, request.eval, request.options.symmetric_activations);
    }
    trial.file = scratch.file(fmt::format("trial-{}.onnx", fallback.size()));
    Model::from_onnx(trial.model).save(trial.file);
    log("measuring fp32 vs INT8 in ONNX Runtime ...");
    trial.metrics = compare_files(request.fp32_path, trial.file, request.eval, comparison);
    if (request.target.active()) {
      log(fmt::format("trial {}: fp32 nodes [{}]: accuracy drop {:.2f} pt, output SQNR {:.1f} dB{}", fallback.size(),
                      fmt::join(fallback, ", "), 100 * quant::accuracy_drop(trial.metrics),
                      trial.metrics["agreement"]["sqnr_db"].get<double>(), quant::speedup_clause(trial.metrics)));
    }
    return trial;
  };

  std::vector<QdqTrial> trials;
  trials.push_back(attempt({}));
  while (!dynamic && request.target.active() && !quant::meets_target(trials.back().metrics, request.target) &&
         static_cast<int>(trials.size()) < request.max_trials) {
    auto node = most_sensitive_node(prepared, trials.back());
    if (node.empty()) break;
    log(fmt::format("target not met; returning node '{}' (lowest activation SQNR) to fp32", node));
    auto fallback = trials.back().fallback;
    fallback.push_back(node);
    trials.push_back(attempt(fallback));
  }

  std::vector<nlohmann::json> trial_metrics;
  std::vector<std::vector<std::string>> trial_nodes;
  for (const auto& t : trials) trial_metrics.push_back(t.metrics), trial_nodes.push_back(t.fallback);
  const size_t chosen = quant::chosen_trial(trial_metrics, request.target);
  auto& pick = trials[chosen];

  // What ORT makes of the chosen file: the graph it actually runs.
  const auto optimized = scratch.file("ort-optimized.onnx");
  OrtRequest probe;
  probe.model = pick.file;
  probe.warmup = 0;
  probe.stop.iterations = 1;
  probe.rows.push_back({request.threads, request.eval.input_rows(0, 1)});
  probe.optimized_model = optimized;
  run_onnxruntime(probe);

  OnnxQuantizeOutcome outcome;
  outcome.model = std::move(pick.model);
  outcome.metrics = pick.metrics;
  outcome.speedup = outcome.metrics.value("speedup_p50", 0.0);
  outcome.target_met = quant::meets_target(pick.metrics, request.target);
  outcome.details = pick.summary;
  if (!dynamic) {
    outcome.details["calibrator"] = request.calibrator;
    outcome.details["calibration"] = calibration;
  }
  outcome.details["format"] = dynamic ? "onnx-dynamic" : "onnx-qdq";
  outcome.details["mode"] = request.mode;
  outcome.details["onnxruntime_fusion"] = count_ort_fusions(load_onnx(optimized));
  outcome.details["trials"] = quant::trial_table(trial_nodes, trial_metrics, request.target, chosen);
  outcome.details["target_met"] = outcome.target_met;
  return outcome;
}

}  // namespace mopt::onnx_quant
