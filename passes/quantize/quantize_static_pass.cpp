// quantize-static: calibrated static INT8, for either format.
//   TorchScript: LibTorch's JIT graph-mode quantization (static_quantizer.h): observers on the
//     activations, calibration, then quantized::conv2d / quantized::linear and friends; weights
//     symmetric qint8 per channel (or per tensor), activations quint8.
//   ONNX: QuantizeLinear/DequantizeLinear pairs that ONNX Runtime fuses into INT8 kernels
//     (qdq_quantizer.h): plan from the graph, calibrate the planned activations (LibTorch, through
//     the importer), rewrite, then onnx.checker's strict check.
// Preconditions: calibration inputs in the PassContext (`mopt quantize --calib`, `mopt optimize
// --calib`). An ONNX graph after the clean-up passes (constants as initializers, BN folded)
// quantizes best; `mopt quantize --print-pipeline` shows the whole pipeline.
// Context: keep_fp32 (layers or nodes the workflow returned to fp32, with why), memo (the QDQ ranges, so
// fallback trials calibrate each tensor once, and the calibrator check's result), evaluation (the
// calibrator check (calibrator_verdict.h) runs on its first 16 samples; ONNX: each activation's
// error is measured on its first 8).
// Stats: rewrites = ops now INT8 (TorchScript: quantized:: ops; ONNX: quantized nodes); details:
// what calibration saw, and a row per activation (range, SQNR, the fallback unit it belongs to).
// `mopt quantize` (lib/quantize) adds what a pass cannot: the fp32 baseline, the accuracy fallback
// loop and the measurement in the deployment runtime.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>
#include <utility>

#include "lib/errors.h"
#include "lib/eval/evaluate.h"
#include "lib/onnx/graph_utils.h"
#include "lib/quantize/quant_boundaries.h"
#include "lib/util/strings.h"
#include "passes/quantize/onnx/activation_calibration.h"
#include "passes/quantize/calibrator_verdict.h"
#include "passes/quantize/onnx/calibrator_check.h"
#include "passes/quantize/onnx/int8_weights.h"
#include "passes/quantize/onnx/qdq_quantizer.h"
#include "passes/quantize/quantize_passes.h"
#include "passes/quantize/static_quantizer.h"

namespace mopt {

std::vector<std::string> split_skip_option(const std::string& text) {
  std::vector<std::string> globs;
  for (auto& part : split(text, ',')) {
    if (!part.empty()) globs.push_back(std::move(part));
  }
  return globs;
}

namespace {

// The quantizable module an activation belongs to (the layer the accuracy fallback returns to fp32
// for it): itself, or for a value a non-quantizable module produces (a ReLU after a conv) the
// nearest quantizable module before it; "" for none.
std::string owning_module(const std::string& layer, const std::vector<std::string>& module_order,
                          const std::set<std::string>& quantizable) {
  if (quantizable.count(layer)) return layer;
  auto it = std::find(module_order.begin(), module_order.end(), layer);
  if (it == module_order.end()) return "";
  while (it != module_order.begin()) {
    --it;
    if (quantizable.count(*it)) return *it;
  }
  return "";
}

// One row per observed activation; `fallback_units` names what the fallback would return to fp32.
nlohmann::json activation_table(const quant::QuantResult& result, const Model& fp32) {
  const auto names = quant::quantizable_modules(fp32);
  const std::set<std::string> quantizable(names.begin(), names.end());
  std::vector<std::string> order;
  for (const auto& item : fp32.torchscript().named_modules()) order.push_back(item.name);
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& r : result.activations) {
    const auto unit = owning_module(r.layer, order, quantizable);
    rows.push_back({{"layer", r.layer},
                    {"range", {r.range.min, r.range.max}},
                    {"scale", r.qparams.scale},
                    {"zero_point", r.qparams.zero_point},
                    {"sqnr_db", r.sqnr_db},
                    {"cosine", r.cosine},
                    {"fallback_units", unit.empty() ? nlohmann::json::array() : nlohmann::json::array({unit})}});
  }
  return rows;
}

PassStats quantize_torchscript(Model& model, const PassOptions& options, const PassContext& context,
                               const std::function<void(const std::string&)>& log) {
  quant::QuantConfig config;
  config.calibrator = options.get_string("calibrator");
  config.calibrator_options.percentile = options.get_float("percentile");
  config.per_channel = options.get_bool("per-channel");
  config.symmetric_activations = options.get_bool("symmetric-activations");
  config.calib_batch = options.get_int("calib-batch");
  config.skip_modules = quant::quantizable_modules_matching(split_skip_option(options.get_string("skip")), model);
  const auto skipped = config.skip_modules;
  for (const auto& kept : context.keep_fp32) config.skip_modules.push_back(kept.first);
  // The calibrator check runs once per workflow (the first trial); later fallback trials keep its result.
  nlohmann::json kept_check;
  nlohmann::json& check = context.memo ? (*context.memo)["calibrator_check"] : kept_check;
  if (check.is_null() && context.evaluation && context.evaluation->size() > 0) {
    config.check_data = context.evaluation;
    log(fmt::format("calibrator check: every calibrator watches the calibration batches; each one's INT8 model then runs "
                    "on {} evaluation samples ...", std::min(kCalibratorCheckSamples, context.evaluation->size())));
  }
  auto result = quant::quantize_static(model, *context.calibration, config, [&](int64_t done, int64_t total) {
    if (done == total || done % std::max<int64_t>(1, total / 10) == 0) log(fmt::format("calibrating: batch {}/{}", done, total));
  });
  PassStats stats;
  stats.details = {{"calibrator", config.calibrator},
                   {"per_channel", config.per_channel},
                   {"activation_quant_max", quant::activation_quant_max()},
                   {"calibration_samples", result.calibration_samples},
                   {"calibration", {{"samples", result.calibration_samples}, {"peak_rss_mb", result.calibration_peak_rss_mb}}},
                   {"activations", activation_table(result, model)},
                   {"skipped_layers", skipped},
                   {"silu_as_sigmoid_mul", result.silu_decomposed},
                   {"relu6_folded", result.relu6_folded},
                   {"cats_channels_last", result.cats_channels_last},
                   {"training_only_submodules", result.training_only_submodules}};
  if (!result.calibrator_check.is_null()) check = result.calibrator_check;
  if (!check.is_null()) stats.details["calibrator_check"] = check;
  model = result.model;
  stats.rewrites = quant::quantization_boundaries(model)["quantized_ops"].get<int64_t>();
  return stats;
}

// Error each quantized activation carries into its consumers, accumulated from the input on: the
// QDQ model's tensor, quantized and dequantized with its own parameters (what its DQs hand on),
// against the fp32 model's tensor, on the first few samples of `data`.
void add_activation_errors(const onnx::ModelProto& fp32, const onnx::ModelProto& qdq, const onnx_quant::QdqPlan& plan,
                           const nlohmann::json& ranges, const Dataset& data, bool symmetric, nlohmann::json& rows) {
  const auto& tensors = plan.calibrate;
  const auto& params = rows.at("activation_params");
  auto sample = data.input_rows(0, std::min<int64_t>(8, data.size()));
  std::vector<torch::Tensor> reference(tensors.size());
  auto nothing = [](int64_t, int64_t) {};
  onnx_quant::run_watched(fp32, tensors, sample, row_count(sample), [&](size_t i, const torch::Tensor& t) { reference[i] = t; }, nothing);
  nlohmann::json table = nlohmann::json::array();
  onnx_quant::run_watched(qdq, tensors, sample, row_count(sample), [&](size_t i, const torch::Tensor& t) {
    const auto& p = params.at(tensors[i]);
    const double scale = p["scale"].get<double>();
    const int64_t zero_point = p["zero_point"].get<int64_t>();
    auto q = torch::clamp(torch::round(t / scale) + zero_point, symmetric ? -128 : 0, symmetric ? 127 : 255);
    auto comparison = compare_outputs(reference[i], (q - zero_point) * scale);
    table.push_back({{"tensor", tensors[i]}, {"range", ranges.at(tensors[i])}, {"scale", scale}, {"zero_point", zero_point},
                     {"sqnr_db", comparison.sqnr_db}, {"cosine", comparison.cosine},
                     {"fallback_units", onnx_quant::nodes_touching(fp32, plan, tensors[i])}});
  }, nothing);
  rows["activations"] = table;
}

double megabytes(const Dataset& data) {
  double bytes = 0;
  for (const auto& input : data.input_list()) bytes += static_cast<double>(input.nbytes());
  return bytes / 1048576.0;
}

PassStats quantize_onnx(Model& model, const PassOptions& options, const PassContext& context,
                        const std::function<void(const std::string&)>& log) {
  onnx_quant::QdqOptions qdq;
  qdq.per_channel = options.get_bool("per-channel");
  qdq.symmetric_activations = options.get_bool("symmetric-activations");
  qdq.skip = split_skip_option(options.get_string("skip"));
  qdq.keep_fp32 = context.keep_fp32;
  qdq.weight_limit = onnx_quant::int8_weight_limit(options.get_string("reduce-range"));
  if (qdq.weight_limit < 127) log(onnx_quant::kSevenBitWeightsNote);
  const auto plan = onnx_quant::plan_qdq(model.onnx(), qdq);
  PassStats stats;
  if (plan.targets.empty()) return stats;  // nothing mopt quantizes: a no-op, as for any pass
  const auto calibrator = options.get_string("calibrator");
  const auto batch = options.get_int("calib-batch");
  // Ranges calibrated in an earlier run of the same workflow (fallback trials) are reused.
  nlohmann::json kept;
  nlohmann::json& ranges = context.memo ? (*context.memo)["ranges"] : kept;
  nlohmann::json kept_check;  // the calibrator check, made with the first calibration, kept for later trials
  nlohmann::json& check = context.memo ? (*context.memo)["calibrator_check"] : kept_check;
  std::vector<std::string> missing;
  nlohmann::json calibration;  // what this run calibrated; null when every range was kept
  for (const auto& name : plan.calibrate) {
    if (!ranges.contains(name)) missing.push_back(name);
  }
  if (!missing.empty()) {
    log(fmt::format("QDQ plan: {} nodes to quantize, {} activation ranges to calibrate ({})", plan.targets.size(),
                    missing.size(), calibrator));
    CalibratorOptions calibrator_options;
    calibrator_options.percentile = options.get_float("percentile");
    // With evaluation data, the other calibrators watch the same batches for the calibrator check.
    const bool check_calibrators = context.evaluation && context.evaluation->size() > 0 && missing.size() == plan.calibrate.size();
    std::vector<std::string> others;
    if (check_calibrators) {
      for (const auto& name : calibrator_names()) {
        if (name != calibrator) others.push_back(name);
      }
    }
    const auto calibrated = onnx_quant::calibrate_tensors(model.onnx(), missing, context.calibration->input_list(), calibrator,
                                                          calibrator_options, batch, log, others);
    for (const auto& [name, range] : calibrated.ranges) ranges[name] = {range.min, range.max};
    calibration = {{"samples", calibrated.samples}, {"batch", batch}, {"peak_rss_mb", calibrated.peak_rss_mb},
                   {"data_mb", megabytes(*context.calibration)}};
    if (check_calibrators) {
      log(fmt::format("calibrator check: the QDQ model of each calibrator on {} evaluation samples ...",
                      std::min(kCalibratorCheckSamples, context.evaluation->size())));
      auto candidates = calibrated.alternatives;
      candidates[calibrator] = calibrated.ranges;
      check = onnx_quant::compare_calibrators(model.onnx(), plan, qdq, candidates, calibrator, *context.evaluation);
    }
  }
  std::map<std::string, Range> planned;
  for (const auto& name : plan.calibrate) planned[name] = Range{ranges[name][0].get<double>(), ranges[name][1].get<double>()};
  auto quantized = onnx_quant::apply_qdq(model.onnx(), plan, planned, qdq, stats.details);
  if (!calibration.is_null()) {
    stats.details["calibration"] = calibration;
    stats.details["calibration_samples"] = calibration["samples"];
  }
  if (!check.is_null()) stats.details["calibrator_check"] = check;
  check_model_strictly(quantized, "the QDQ model");
  if (context.evaluation) {
    log("measuring each activation's error against fp32 (LibTorch, through the importer) ...");
    add_activation_errors(model.onnx(), quantized, plan, ranges, *context.evaluation, qdq.symmetric_activations, stats.details);
  }
  stats.details["calibrator"] = calibrator;
  stats.details["int8_weight_limit"] = qdq.weight_limit;
  model = Model::from_onnx(std::move(quantized));
  stats.rewrites = static_cast<int64_t>(plan.targets.size());
  return stats;
}

class QuantizeStaticPass : public Pass {
 public:
  const PassInfo& info() const override {
    static const PassInfo info{
        "quantize-static",
        "calibrated static INT8: LibTorch quantized ops for TorchScript, QDQ that ONNX Runtime fuses for ONNX",
        {ModelFormat::kTorchScript, ModelFormat::kOnnx},
        {{"calibrator", OptionType::kString, "minmax", "minmax, moving-average, percentile, entropy or mse"},
         {"percentile", OptionType::kFloat, "99.99", "percent of values the percentile calibrator keeps"},
         {"per-channel", OptionType::kBool, "true", "one weight scale per output channel (false: per tensor)"},
         {"symmetric-activations", OptionType::kBool, "false", "symmetric activation ranges instead of affine"},
         {"calib-batch", OptionType::kInt, "32", "calibration batch size"},
         {"skip", OptionType::kString, "", "comma-separated globs of layers (ONNX: node or weight names) kept in fp32"},
         {"reduce-range", OptionType::kString, "auto",
          "ONNX output: 7-bit int8 weights, which ONNX Runtime's kernels need on x86 CPUs without VNNI (their int16 sums "
          "saturate): auto (where this CPU has no VNNI), on or off"}},
        /*libtorch_runtime_only=*/false,
        /*needs_calibration=*/true};
    return info;
  }

  PassStats run(Model& model, const PassOptions& options, const PassContext& context) const override {
    if (!context.calibration) throw usage_error("quantize-static calibrates activations: give calibration inputs (--calib DATA)");
    std::function<void(const std::string&)> log = [](const std::string&) {};
    if (context.log) log = context.log;
    return model.is_onnx() ? quantize_onnx(model, options, context, log) : quantize_torchscript(model, options, context, log);
  }
};

}  // namespace

std::unique_ptr<Pass> make_quantize_static_pass() { return std::make_unique<QuantizeStaticPass>(); }

}  // namespace mopt
