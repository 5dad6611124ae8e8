#include "passes/quantize/onnx/calibrator_check.h"

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
  std::map<std::string, double> sqnr;
  for (const auto& [calibrator, calibrated] : ranges) {
    nlohmann::json unused;
    const auto candidate = to_torchscript(Model::from_onnx(apply_qdq(fp32, plan, calibrated, options, unused)));
    sqnr[calibrator] = compare_outputs(reference, run_model_batched(candidate, inputs, samples)).sqnr_db;
  }
  return calibrator_verdict(sqnr, chosen, samples, "QDQ model");
}

}  // namespace mopt::onnx_quant
