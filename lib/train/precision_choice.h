#pragma once
// Which precision a training run uses: --amp off trains in fp32; fp16 or bf16 train in that
// precision, measured against fp32 so the report shows what it gained (or lost); auto measures
// fp32, fp16 and bf16 and trains in the fastest.
#include <map>
#include <string>

#include <nlohmann/json.hpp>

#include "lib/train/trainer.h"

namespace mopt::train {

struct PrecisionChoice {
  AmpRequest request = AmpRequest::kOff;
  Precision chosen = Precision::kFloat32;
  std::map<std::string, double> samples_per_s;  ///< measured training throughput by precision name
  std::string reason;
  /// The chosen precision's throughput over fp32's; 0 when not measured.
  double speedup() const;
  nlohmann::json to_json() const;
};

/// Steps of each precision's measurement (after warm-up).
constexpr int64_t kPrecisionProbeSteps = 8;

/// Resolves config.amp for training `model` with `objective` on `train`, on config.device. In a
/// data-parallel run rank 0 measures and every rank takes its choice.
PrecisionChoice choose_precision(const torch::jit::Module& model, const Dataset& train, const TrainConfig& config,
                                 const Objective& objective);

}  // namespace mopt::train
