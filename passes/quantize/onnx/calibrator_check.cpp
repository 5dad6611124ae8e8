#include "passes/quantize/onnx/calibrator_check.h"

#include <fmt/format.h>

#include "lib/eval/evaluate.h"
#include "lib/model/model.h"
#include "lib/onnx/import/onnx_importer.h"

namespace mopt::onnx_quant {

nlohmann::json compare_calibrators(const onnx::ModelProto& fp32, const QdqPlan& plan, const QdqOptions& options,
                                   const std::map<std::string, std::map<std::string, Range>>& ranges,
                                   const std::string& chosen, const Dataset& data) {
  const int64_t samples = std::min<int64_t>(kCalibratorCheckSamples, data.size());
  const auto inputs = data.input_rows(0, samples);
  const auto reference = run_model_batched(to_torchscript(Model::from_onnx(fp32)), inputs, samples);
  nlohmann::json sqnr = nlohmann::json::object();
  std::string best;
  for (const auto& [calibrator, calibrated] : ranges) {
    nlohmann::json unused;
    const auto candidate = to_torchscript(Model::from_onnx(apply_qdq(fp32, plan, calibrated, options, unused)));
    const double db = compare_outputs(reference, run_model_batched(candidate, inputs, samples)).sqnr_db;
    sqnr[calibrator] = db;
    if (best.empty() || db > sqnr[best].get<double>()) best = calibrator;
  }
  nlohmann::json check = {{"samples", samples}, {"output_sqnr_db", sqnr}, {"best", best}};
  const double gap = sqnr[best].get<double>() - sqnr.at(chosen).get<double>();
  if (gap >= kCalibratorCollapseDb && sqnr.at(chosen).get<double>() < kCalibratorSafeDb) {
    check["warning"] = fmt::format(
        "the {} calibrator's QDQ model reaches an output SQNR of {:.1f} dB against fp32 where {}'s reaches {:.1f} dB "
        "(LibTorch, first {} evaluation samples); try --calibrator {}",
        chosen, sqnr[chosen].get<double>(), best, sqnr[best].get<double>(), samples, best);
  }
  return check;
}

}  // namespace mopt::onnx_quant
