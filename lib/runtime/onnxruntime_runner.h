#pragma once
// ONNX Runtime as a measured runtime. There are no ORT C/C++ headers in the registries this
// project may use, so mopt drives the official Node.js binding (npm onnxruntime-node) through a
// helper process (lib/runtime/ort/ort_bench.js) that loads the model once per thread count and runs
// the warm-up and the timed loop itself: samples never include the bridge. Memory figures are the
// helper process's own (peak RSS, and its growth over the process's start).
#include <nlohmann/json.hpp>
#include <torch/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "lib/measure/resource_monitor.h"
#include "lib/measure/soak.h"
#include "lib/measure/timed_run.h"

namespace mopt {

/// One timed row: these inputs (one per graph input, in order) at this many intra-op threads.
struct OrtRow {
  int threads = 1;
  std::vector<torch::Tensor> inputs;
};

/// What to run in ONNX Runtime.
struct OrtRequest {
  std::filesystem::path model;
  int64_t warmup = 10;
  StopRule stop;
  std::optional<SoakSettings> soak;  ///< each row's timed phase is a soak instead of `stop`
  std::vector<OrtRow> rows;
  std::vector<torch::Tensor> eval_inputs;  ///< optional, one per graph input: run every row (in eval_batch batches), return the outputs
  int eval_threads = 1;
  int64_t eval_batch = 256;
  std::filesystem::path optimized_model;  ///< optional: where ORT writes the graph it actually runs
  int64_t profile_iterations = 0;  ///< > 0: the first row again under ORT's session profiling
  std::string data_description;  ///< Dataset::description of the inputs, for errors ("synthetic ..." adds a hint)
};

/// ORT's session profile of the first row's calls (OrtRequest::profile_iterations).
struct OrtProfile {
  nlohmann::json trace;               ///< ORT's Chrome-trace events, as it wrote them
  int64_t warmup_runs = 0;            ///< model_run events before the profiled calls
  std::vector<double> iteration_ms;   ///< each profiled call's time, seen from the helper
};

/// What came back.
struct OrtResult {
  std::string version;                 ///< onnxruntime-node's version
  nlohmann::json cold_start;           ///< {load_ms, first_inference_ms} of the first session
  nlohmann::json session;              ///< the session options in effect
  std::vector<TimedRun> rows;          ///< one per request row
  std::vector<std::pair<double, double>> memory_mb;  ///< per row: helper's peak RSS, and its increase
  std::vector<CpuUsage> cpu;           ///< per row: the helper's CPU time over warm-up and timed calls
  std::vector<RssTimeline> rss;        ///< per row: the helper's RSS over the same calls
  std::vector<double> page_faults_per_call;  ///< per row: the helper's minor page faults per timed call
  std::vector<SoakRun> soaks;          ///< per row, when the request asked for a soak
  torch::Tensor eval_outputs;          ///< the first output over eval_inputs, when asked
  std::optional<OrtProfile> profile;   ///< when asked
};

/// Runs the request. Without Node.js or the binding: invalid_input (exit 4) saying how to install
/// it; a model ORT refuses, or one that fails on these inputs: invalid_input with ORT's reason
/// (the innermost failing node); anything else: runtime_failure.
OrtResult run_onnxruntime(const OrtRequest& request);

/// The folder holding ort_bench.js and node_modules/onnxruntime-node: $MOPT_ORT_DIR, the
/// installed share/mopt/ort, or the source tree's lib/runtime/ort.
std::filesystem::path onnxruntime_dir();

/// The Node.js that runs the helpers: $MOPT_NODE, else `node` on PATH.
std::string node_executable();

}  // namespace mopt
