#pragma once
// The calibrator check's verdict, for either format: a calibrator that clips what matters collapses a
// model's accuracy while the others keep it. Each calibrator's quantized model (all calibrated on the
// same batches, in one run) is scored by output SQNR against fp32 on a few evaluation samples
// (TorchScript: static_quantizer.h; ONNX QDQ: onnx/calibrator_check.h); the chosen calibrator well
// below the best gets a warning that names the better one.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <string>

namespace mopt {

/// The chosen calibrator collapsed when its output SQNR is this far (dB) below the best one's (the
/// error power at least doubled) and below kCalibratorSafeDb. Above that, the output error is under
/// 1/1000 of the signal and accuracy is not at stake: on the trained Fashion-MNIST CNN entropy's
/// 38.1 dB against minmax's 41.8 dB score the same top-1 (cli.test_quantize_onnx's entropy run).
inline constexpr double kCalibratorCollapseDb = 3.0;
inline constexpr double kCalibratorSafeDb = 30.0;

/// Evaluation samples the check runs each candidate on.
inline constexpr int64_t kCalibratorCheckSamples = 16;

/// {samples, output_sqnr_db: {calibrator: dB}, best, warning (only on a collapse)}. `artifact` names
/// what was scored in the warning ("QDQ model", "INT8 model").
nlohmann::json calibrator_verdict(const std::map<std::string, double>& output_sqnr_db, const std::string& chosen,
                                  int64_t samples, const std::string& artifact);

}  // namespace mopt
