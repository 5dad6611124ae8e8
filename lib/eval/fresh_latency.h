#pragma once
// Latency of saved artifacts as a user gets them: every round re-executes `mopt bench FILE` in a
// fresh child process (load, warm-up at the measured shape only, timed calls), alternating the
// two files so a burst of load on the shared machine hits both alike. In-process A/B timings
// disagreed with the saved files by 2-3x here (executor state, warm-up at other batch sizes);
// this is the measurement `mopt bench` reproduces.
#include <nlohmann/json.hpp>
#include <torch/types.h>

#include <filesystem>
#include <vector>

namespace mopt {

/// Above this ratio of the slowest to the fastest process's p50 for one file, a single `mopt bench`
/// run of that file can read more than 10% off the pooled figure.
constexpr double kSteadyProcessSpread = 1.10;

/// How the children run. threads 0 / engine "" = what is in effect in this process.
struct FreshLatencySettings {
  /// Child processes per file (fewer when there are under 10 timed calls per round). When the
  /// processes of either file disagree by over kSteadyProcessSpread, up to as many again.
  int rounds = 3;
  int warmup = 10;        ///< untimed calls in each child
  int iterations = 50;    ///< timed calls per file, split over the rounds (at least one per round)
  int threads = 0;
  std::string engine;
  bool tuned_allocator = false;  ///< children run `mopt bench --malloc-tuned` (kTunedMallocEnv)
  std::string device = "cpu";    ///< children run `mopt bench --device DEVICE` (timed by CUDA events on a GPU)
};

/// Pooled timed samples of each file, and how they were taken (for the report).
struct FreshLatency {
  std::vector<double> before_ms;
  std::vector<double> after_ms;
  double before_page_faults = 0;  ///< page faults per timed call, the most of any round
  double after_page_faults = 0;
  /// Each child's own p50, in round order: how far the same file's figure moves between processes
  /// (machine load, and for files glibc maps memory for afresh, the address-space layout).
  std::vector<double> before_process_p50_ms;
  std::vector<double> after_process_p50_ms;
  nlohmann::json method;  ///< {method, command, rounds, extra_rounds, warmup_per_round, timed_calls, threads, engine, malloc}
};

/// The slowest over the fastest of processes' p50s (1 for none).
double process_spread(const std::vector<double>& process_p50s_ms);

/// Times `before` and `after` (TorchScript in LibTorch, .onnx in ONNX Runtime, as `mopt bench`
/// picks) on `inputs` (one per model input, batch 1) in fresh mopt processes. A child that fails
/// is a runtime_failure quoting its output; a file the child calls invalid keeps exit 4.
FreshLatency measure_fresh_latency(const std::filesystem::path& before, const std::filesystem::path& after,
                                   const std::vector<torch::Tensor>& inputs, const FreshLatencySettings& settings);

}  // namespace mopt
