#pragma once
// Before/after measurement of an optimization in one run, same threads, same inputs:
// latency, accuracy (when labels exist) and output agreement.
#include <nlohmann/json.hpp>

#include "lib/data/dataset.h"
#include "lib/model/model.h"

#include <filesystem>

namespace mopt {

/// How much work the comparison does.
struct ComparisonSettings {
  int64_t eval_batch = 256;  ///< batch for accuracy/agreement passes over the data
  int warmup = 10;           ///< latency warm-up calls (excluded)
  int iterations = 50;       ///< timed calls, batch 1
};

/// Runs both TorchScript models over `data` and returns
/// {before: {latency: {p50_ms, ...}, accuracy?: {top1}}, after: {...}, agreement: {max_abs_diff,
///  cosine, top1_agreement}, speedup_p50, samples, data}. Latency is measured on the first sample
/// (batch 1), alternating before/after rounds so machine noise hits both alike.
nlohmann::json compare_models(const Model& before, const Model& after, const Dataset& data,
                              const ComparisonSettings& settings);

/// A TorchScript model (run in LibTorch) against its ONNX export (run in ONNX Runtime at `threads`),
/// alternating rounds; the result says "runtime": {"before": "libtorch", "after": "onnxruntime"}.
nlohmann::json compare_with_onnx_export(const Model& before, const std::filesystem::path& after, const Dataset& data,
                                        const ComparisonSettings& settings, int threads);

/// The same comparison for two ONNX files, measured in ONNX Runtime at `threads` (each round a
/// fresh helper process per model, alternating); the result also says which runtime ran each side.
nlohmann::json compare_onnx_files(const std::filesystem::path& before, const std::filesystem::path& after,
                                  const Dataset& data, const ComparisonSettings& settings, int threads);

}  // namespace mopt
