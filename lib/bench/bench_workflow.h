#pragma once
// `mopt bench` as a library call: cold start, a batch x threads sweep of steady-state latency,
// throughput, memory and work, then accuracy and agreement with a reference model.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "lib/bench/gpu_bench.h"
#include "lib/bench/regression.h"
#include "lib/data/dataset.h"
#include "lib/measure/gates.h"
#include "lib/measure/soak.h"
#include "lib/measure/timed_run.h"
#include "lib/profiles/profile.h"
#include "lib/report/report.h"

namespace mopt {

/// What to measure and how.
struct BenchRequest {
  std::filesystem::path model_path;
  std::filesystem::path reference_path;  ///< optional: agreement with this model
  Dataset data;                          ///< inputs (and labels for accuracy); rows are reused to fill batches
  std::vector<int64_t> batches = {1};
  bool batch_auto = false;               ///< --batch auto: search the batch (lib/bench/batch_search.h) instead of `batches`
  std::string max_memory = "0.9";        ///< --max-memory: the search's budget, a fraction of the device's memory or a size
  std::vector<int> threads;              ///< empty = the threads already in effect
  int64_t warmup = 10;
  StopRule stop;
  int64_t eval_batch = 256;              ///< batch size for accuracy/agreement passes
  std::string runtime = "libtorch";      ///< "libtorch" (in process) or "onnxruntime" (helper process)
  std::optional<GpuSettings> gpu;        ///< --device cuda: LibTorch on this GPU (threads are then the host's)
  bool keep_samples = false;             ///< every timed sample in rows[].samples_ms (for pooling across processes)
  std::optional<SoakSettings> soak;      ///< --duration: each row's timed phase is a soak instead of `stop`
  bool op_profile = false;               ///< --op-profile: profile the first row's calls per layer and op (LibTorch)
  std::filesystem::path trace_path;      ///< --trace: Chrome trace of the first profiled iterations (implies op_profile)

  // What the run is judged by; each failed gate is recorded in the report (the caller decides the exit).
  std::vector<GateExpression> gates;          ///< --fail-if and the profile's budgets, parsed before anything is measured
  std::vector<RegressionRule> regression_rules;  ///< --max-regression, against `baseline`
  nlohmann::json baseline;                    ///< --baseline: an earlier report
  std::optional<Profile> profile;             ///< --profile: reported, and judged on whether it deploys with `runtime`
  std::string profile_runtime;                ///< the profile's name for the runtime measured (libtorch-lite for .ptl)
  std::vector<int64_t> batches_asked;         ///< --batch as given, for the report's settings
};

/// What was measured and how each gate came out.
struct BenchOutcome {
  nlohmann::json metrics;
  std::vector<GateResult> gates;
};

/// Progress callback: (row label, iterations done, seconds elapsed).
using BenchProgress = std::function<void(const std::string&, int64_t, double)>;

/// Runs the benchmark and judges it: fills `report` (inputs, metrics {model, cold_start, accuracy?,
/// agreement?, rows[], batch_search? (--batch auto)}, details.settings, details.profile, every gate's verdict) and returns them.
BenchOutcome run_bench(const BenchRequest& request, Report& report, const BenchProgress& progress = {});

/// Input batch of `batch` rows from `inputs`, cycling rows when the dataset is smaller.
torch::Tensor make_batch(const torch::Tensor& inputs, int64_t batch);

/// make_batch() of every model input in `data` (one tensor per input, forward()'s order).
std::vector<torch::Tensor> batch_inputs(const Dataset& data, int64_t batch);

}  // namespace mopt
