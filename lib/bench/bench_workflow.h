#pragma once
// `mopt bench` as a library call: cold start, a batch x threads sweep of steady-state latency,
// throughput, memory and work, then accuracy and agreement with a reference model.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "lib/data/dataset.h"
#include "lib/measure/soak.h"
#include "lib/measure/timed_run.h"

namespace mopt {

/// What to measure and how.
struct BenchRequest {
  std::filesystem::path model_path;
  std::filesystem::path reference_path;  ///< optional: agreement with this model
  Dataset data;                          ///< inputs (and labels for accuracy); rows are reused to fill batches
  std::vector<int64_t> batches = {1};
  std::vector<int> threads;              ///< empty = the threads already in effect
  int64_t warmup = 10;
  StopRule stop;
  int64_t eval_batch = 256;              ///< batch size for accuracy/agreement passes
  std::string runtime = "libtorch";      ///< "libtorch" (in process) or "onnxruntime" (helper process)
  bool keep_samples = false;             ///< every timed sample in rows[].samples_ms (for pooling across processes)
  std::optional<SoakSettings> soak;      ///< --duration: each row's timed phase is a soak instead of `stop`
  bool op_profile = false;               ///< --op-profile: profile the first row's calls per layer and op (LibTorch)
  std::filesystem::path trace_path;      ///< --trace: Chrome trace of the first profiled iterations (implies op_profile)
};

/// Progress callback: (row label, iterations done, seconds elapsed).
using BenchProgress = std::function<void(const std::string&, int64_t, double)>;

/// Runs the benchmark; returns the report's `metrics` object ({model, cold_start, accuracy?,
/// agreement?, rows[]}) and records the input artifacts in `inputs_out`.
nlohmann::json run_bench(const BenchRequest& settings, const BenchProgress& progress = {});

/// Input batch of `batch` rows from `inputs`, cycling rows when the dataset is smaller.
torch::Tensor make_batch(const torch::Tensor& inputs, int64_t batch);

/// make_batch() of every model input in `data` (one tensor per input, forward()'s order).
std::vector<torch::Tensor> batch_inputs(const Dataset& data, int64_t batch);

}  // namespace mopt
