#pragma once
// Calibration of an ONNX model's activations with LibTorch: the model runs through the importer
// with the tensors to watch added as graph outputs, batch by batch, and each tensor feeds one of
// mopt's streaming calibrators, so memory stays flat however many samples are used (ONNX
// Runtime's own entropy/percentile calibration keeps every activation of every sample).
#include <onnx/onnx_pb.h>
#include <torch/types.h>

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "calibration/calibrator.h"

namespace mopt::onnx_quant {

/// What calibration used and cost.
struct CalibrationResult {
  std::map<std::string, Range> ranges;
  /// Calibrator name -> tensor -> range, for each calibrator asked to run alongside (`also`).
  std::map<std::string, std::map<std::string, Range>> alternatives;
  int64_t samples = 0;
  double peak_rss_mb = 0;  ///< this process's peak resident memory after calibration
};

/// Runs `inputs` (one tensor per graph input, rows aligned) through the model in `batch`-sized steps
/// (LibTorch, through the importer) and hands every watched tensor of every batch to
/// `observe(index in tensors, value)`; nothing is kept.
void run_watched(const onnx::ModelProto& model, const std::vector<std::string>& tensors, const std::vector<torch::Tensor>& inputs,
                 int64_t batch, const std::function<void(size_t, const torch::Tensor&)>& observe,
                 const std::function<void(int64_t, int64_t)>& progress);

/// Runs `inputs` (one per graph input, samples along dim 0) through the model in `batch`-sized steps
/// and returns a range for every tensor in `tensors`. The calibrators named in `also` watch the same
/// batches (one run of the model), their ranges in `alternatives`. Bad data (NaN only, wrong shape)
/// -> invalid_input.
CalibrationResult calibrate_tensors(const onnx::ModelProto& model, const std::vector<std::string>& tensors,
                                    const std::vector<torch::Tensor>& inputs, const std::string& calibrator,
                                    const CalibratorOptions& options, int64_t batch,
                                    const std::function<void(const std::string&)>& log,
                                    const std::vector<std::string>& also = {});

}  // namespace mopt::onnx_quant
