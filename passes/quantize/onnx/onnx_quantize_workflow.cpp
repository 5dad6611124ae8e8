#include "passes/quantize/onnx/onnx_quantize_workflow.h"

#include <fmt/format.h>
#include <onnx/checker.h>
#include <onnx/shape_inference/implementation.h>

#include "lib/errors.h"
#include "lib/eval/evaluate.h"
#include "lib/model/model.h"
#include "lib/model/onnx_io.h"
#include "lib/runtime/onnxruntime_runner.h"
#include "lib/util/scratch_dir.h"
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
    {"QLinearGlobalAveragePool", "GlobalAveragePool"}};
// fp32 compute kinds as they appear after ORT's fp32 fusions.
const std::map<std::string, std::string> kFp32Kernels = {
    {"Conv", "Conv"}, {"FusedConv", "Conv"}, {"Gemm", "Gemm"}, {"FusedGemm", "Gemm"}, {"MatMul", "MatMul"}, {"FusedMatMul", "MatMul"}};

// onnx.checker's full check of the rewritten model: structure, then strict type and shape inference.
void check_rewritten(const onnx::ModelProto& model) {
  try {
    onnx::checker::check_model(model);
    onnx::ModelProto inferred = model;
    onnx::shape_inference::InferShapes(inferred, onnx::OpSchemaRegistry::Instance(),
                                       onnx::ShapeInferenceOptions(/*check_type=*/true, /*strict_mode=*/1));
  } catch (const std::exception& e) {
    throw runtime_failure(fmt::format("internal error: the QDQ model does not validate: {}", e.what()));
  }
}

// The calibrated tensors, in plan order (as recorded in the summary).
std::vector<std::string> plan_tensors(const nlohmann::json& summary) {
  std::vector<std::string> names;
  for (const auto& r : summary["activation_ranges"]) names.push_back(r["tensor"].get<std::string>());
  return names;
}

// Error each quantized activation carries into its consumers, accumulated from the input on: the
// QDQ model's tensor, quantized and dequantized with its own parameters (what its DQs hand on),
// against the fp32 model's tensor, on the first few evaluation samples.
nlohmann::json activation_errors(const onnx::ModelProto& fp32, const onnx::ModelProto& qdq, const std::vector<std::string>& tensors,
                                 const nlohmann::json& params, const nlohmann::json& ranges, const torch::Tensor& inputs,
                                 bool symmetric) {
  auto sample = inputs.slice(0, 0, std::min<int64_t>(8, inputs.size(0)));
  std::vector<torch::Tensor> reference(tensors.size());
  auto nothing = [](int64_t, int64_t) {};
  run_watched(fp32, tensors, sample, sample.size(0), [&](size_t i, const torch::Tensor& t) { reference[i] = t; }, nothing);
  nlohmann::json rows = nlohmann::json::array();
  run_watched(qdq, tensors, sample, sample.size(0), [&](size_t i, const torch::Tensor& t) {
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

}  // namespace

nlohmann::json count_ort_fusions(const onnx::ModelProto& optimized) {
  std::map<std::string, std::pair<int, int>> counts;  // source op -> (int8 kernels, fp32 nodes)
  int quantize_nodes = 0;
  for (const auto& node : optimized.graph().node()) {
    const auto& op = node.op_type();
    if (op == "QuantizeLinear" || op == "DequantizeLinear") ++quantize_nodes;
    if (auto it = kInt8Kernels.find(op); it != kInt8Kernels.end()) ++counts[it->second].first;
    if (auto it = kFp32Kernels.find(op); it != kFp32Kernels.end()) ++counts[it->second].second;
  }
  nlohmann::json ops = nlohmann::json::object();
  for (const auto& [op, c] : counts) ops[op] = {{"int8", c.first}, {"fp32", c.second}};
  return {{"ops", ops}, {"quantize_dequantize_nodes", quantize_nodes}, {"nodes", optimized.graph().node_size()}};
}

OnnxQuantizeOutcome run_onnx_quantize(const onnx::ModelProto& prepared, const OnnxQuantizeRequest& request,
                                      const std::function<void(const std::string&)>& log) {
  OnnxQuantizeOutcome outcome;
  nlohmann::json summary;
  if (request.mode == "dynamic") {
    outcome.model = apply_dynamic(prepared, request.options.skip, summary);
    if (summary["quantized_nodes"]["MatMul"].get<int>() == 0) {
      throw invalid_input("the model has no MatMul with a constant 2-D weight for dynamic INT8; use --mode static");
    }
    log(fmt::format("dynamic INT8: {} MatMul nodes", summary["quantized_nodes"]["MatMul"].get<int>()));
  } else {
    auto plan = plan_qdq(prepared, request.options);
    if (plan.targets.empty()) throw invalid_input("the model has no op mopt can quantize (Conv, Gemm, MatMul, Add, Mul, Concat, pooling)");
    log(fmt::format("QDQ plan: {} nodes to quantize, {} activation ranges to calibrate ({})", plan.targets.size(),
                    plan.calibrate.size(), request.calibrator));
    auto calibration = calibrate_tensors(prepared, plan.calibrate, request.calib_inputs, request.calibrator,
                                         request.calibrator_options, request.calib_batch, log);
    outcome.model = apply_qdq(prepared, plan, calibration.ranges, request.options, summary);
    nlohmann::json ranges = nlohmann::json::array();
    for (const auto& name : plan.calibrate) {
      const auto& r = calibration.ranges.at(name);
      ranges.push_back({{"tensor", name}, {"range", {r.min, r.max}}});
    }
    summary["calibrator"] = request.calibrator;
    summary["calibration"] = {{"samples", calibration.samples}, {"batch", request.calib_batch},
                              {"peak_rss_mb", calibration.peak_rss_mb},
                              {"data_mb", static_cast<double>(request.calib_inputs.nbytes()) / 1048576.0}};
    summary["activation_ranges"] = ranges;
  }
  check_rewritten(outcome.model);
  if (request.mode != "dynamic") {
    log("measuring each activation's error against fp32 (LibTorch, through the importer) ...");
    summary["activations"] = activation_errors(prepared, outcome.model, plan_tensors(summary), summary["activation_params"],
                                               summary["activation_ranges"], request.eval.inputs, request.options.symmetric_activations);
    summary.erase("activation_ranges");
  }

  // What ORT makes of it: the graph it runs, and the file measured against the fp32 input.
  ScratchDir scratch("mopt-quantize");
  const auto qdq = scratch.file("quantized.onnx"), optimized = scratch.file("ort-optimized.onnx");
  Model::from_onnx(outcome.model).save(qdq);
  OrtRequest probe;
  probe.model = qdq;
  probe.warmup = 0;
  probe.stop.iterations = 1;
  probe.rows.push_back({request.threads, request.eval.inputs.slice(0, 0, 1).contiguous()});
  probe.optimized_model = optimized;
  run_onnxruntime(probe);
  auto fusion = count_ort_fusions(load_onnx(optimized));

  log("measuring fp32 vs INT8 in ONNX Runtime ...");
  auto comparison = request.comparison;
  comparison.threads = request.threads;
  outcome.metrics = compare_files(request.fp32_path, qdq, request.eval, comparison);
  outcome.speedup = outcome.metrics.value("speedup_p50", 0.0);

  outcome.details = summary;
  outcome.details["format"] = request.mode == "dynamic" ? "onnx-dynamic" : "onnx-qdq";
  outcome.details["mode"] = request.mode;
  outcome.details["onnxruntime_fusion"] = fusion;
  return outcome;
}

}  // namespace mopt::onnx_quant
