#pragma once
// The calibrator check for QDQ output (calibrator_verdict.h): the QDQ model every calibrator's ranges
// make is run in LibTorch (through the importer) on a few evaluation samples and scored by output SQNR
// against fp32.
#include <nlohmann/json.hpp>
#include <onnx/onnx_pb.h>

#include <map>
#include <string>

#include "calibration/calibrator.h"
#include "lib/data/dataset.h"
#include "passes/quantize/calibrator_verdict.h"
#include "passes/quantize/onnx/qdq_quantizer.h"

namespace mopt::onnx_quant {

/// calibrator_verdict's json. `ranges` maps each calibrator (the chosen one included) to a range for
/// every tensor in plan.calibrate.
nlohmann::json compare_calibrators(const onnx::ModelProto& fp32, const QdqPlan& plan, const QdqOptions& options,
                                   const std::map<std::string, std::map<std::string, Range>>& ranges,
                                   const std::string& chosen, const Dataset& data);

}  // namespace mopt::onnx_quant
