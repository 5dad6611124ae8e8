#pragma once
// The calibrator check: a calibrator that clips what matters collapses a model's accuracy while
// the others keep it. The QDQ model every calibrator's ranges make (all calibrated on the same
// batches, in one run) is run in LibTorch on a few evaluation samples and scored by output SQNR
// against fp32; the chosen calibrator well below the best gets a warning that names the better one.
#include <nlohmann/json.hpp>
#include <onnx/onnx_pb.h>

#include <map>
#include <string>

#include "calibration/calibrator.h"
#include "lib/data/dataset.h"
#include "passes/quantize/onnx/qdq_quantizer.h"

namespace mopt::onnx_quant {

/// The chosen calibrator collapsed when its output SQNR is this far (dB) below the best one's (the
/// error power at least doubled) and below kCalibratorSafeDb. Above that, the output error is under
/// 1/1000 of the signal and accuracy is not at stake: on the trained Fashion-MNIST CNN entropy's
/// 38.1 dB against minmax's 41.8 dB score the same top-1 (cli.test_quantize_onnx's entropy run).
inline constexpr double kCalibratorCollapseDb = 3.0;
inline constexpr double kCalibratorSafeDb = 30.0;

/// Evaluation samples the check runs each candidate on.
inline constexpr int64_t kCalibratorCheckSamples = 16;

/// {samples, output_sqnr_db: {calibrator: dB}, best, warning (only on a collapse)}. `ranges` maps
/// each calibrator (the chosen one included) to a range for every tensor in plan.calibrate.
nlohmann::json compare_calibrators(const onnx::ModelProto& fp32, const QdqPlan& plan, const QdqOptions& options,
                                   const std::map<std::string, std::map<std::string, Range>>& ranges,
                                   const std::string& chosen, const Dataset& data);

}  // namespace mopt::onnx_quant
