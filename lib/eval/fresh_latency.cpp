#include "lib/eval/fresh_latency.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>

#include "lib/data/readers.h"
#include "lib/errors.h"
#include "lib/measure/latency_stats.h"
#include "lib/runtime/runtime.h"
#include "lib/util/child_process.h"
#include "lib/util/log.h"
#include "lib/util/scratch_dir.h"

namespace mopt {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr int kMinCallsPerRound = 10;

// One child's timed samples, page faults per timed call, and the allocator settings it ran with.
struct ChildTiming {
  std::vector<double> samples_ms;
  double page_faults_per_call = 0;
  json malloc;
};

// One child: `mopt bench FILE` at batch 1 with every timed sample kept in its report.
ChildTiming bench_in_child(const fs::path& model, const fs::path& input, int warmup, int iterations,
                           const FreshLatencySettings& settings, const ScratchDir& scratch, int index) {
  const auto report = scratch.file(fmt::format("round{}.json", index));
  const auto log = scratch.file(fmt::format("round{}.log", index));
  std::vector<std::string> argv = {self_executable().string(), "bench", fs::absolute(model).string(),
                                   "--data", input.string(), "--batch", "1",
                                   "--threads", std::to_string(settings.threads), "--engine", settings.engine,
                                   "--warmup", std::to_string(warmup), "--iterations", std::to_string(iterations),
                                   "--keep-samples", "--report", report.string(), "--quiet"};
  if (settings.tuned_allocator) argv.push_back("--malloc-tuned");
  if (settings.device != "cpu") argv.insert(argv.end(), {"--device", settings.device});
  log_verbose("fresh-process timing: {}", fmt::join(argv, " "));
  auto outcome = run_child(argv, log);
  if (outcome.exit_code != 0) {
    auto why = outcome.signal ? fmt::format("killed by signal {}", outcome.signal) : fmt::format("exit {}", outcome.exit_code);
    auto message = fmt::format("timing '{}' in a fresh process failed ({}): {}", model.string(), why, outcome.output_tail);
    if (outcome.exit_code == static_cast<int>(ExitCode::kInvalidInput)) throw invalid_input(message);
    throw runtime_failure(message);
  }
  try {
    std::ifstream in(report);
    const auto metrics = json::parse(in).at("metrics");
    const auto& row = metrics.at("rows").at(0);
    return {row.at("samples_ms").get<std::vector<double>>(), row.at("memory").value("page_faults_per_call", 0.0),
            metrics.at("runtime").value("malloc", json())};
  } catch (const std::exception& e) {
    throw runtime_failure(fmt::format("the fresh-process timing of '{}' wrote an unreadable report: {}", model.string(), e.what()));
  }
}

}  // namespace

double process_spread(const std::vector<double>& process_p50s_ms) {
  if (process_p50s_ms.empty()) return 1.0;
  const auto [fastest, slowest] = std::minmax_element(process_p50s_ms.begin(), process_p50s_ms.end());
  return *fastest > 0 ? *slowest / *fastest : 1.0;
}

FreshLatency measure_fresh_latency(const fs::path& before, const fs::path& after, const std::vector<torch::Tensor>& inputs,
                                   const FreshLatencySettings& requested) {
  auto settings = requested;
  if (settings.threads <= 0) settings.threads = active_threads();
  if (settings.engine.empty()) settings.engine = active_engine();
  // At least kMinCallsPerRound timed calls per child: a process start costs ~0.7 s here, and a
  // handful of calls per round would spend the run starting processes.
  const int total = std::max(1, settings.iterations);
  const int rounds = std::clamp(total / kMinCallsPerRound, 1, std::max(1, settings.rounds));
  // The timed calls are split over the rounds so that the pooled count is what was asked for.
  auto calls_in_round = [&](int r) { return total / rounds + (r < total % rounds ? 1 : 0); };
  ScratchDir scratch("mopt-fresh");
  // The children read the inputs as a dataset folder: input_0.npy, input_1.npy... (lib/data/dataset.h).
  const auto input_dir = scratch.file("inputs");
  fs::create_directories(input_dir);
  for (size_t k = 0; k < inputs.size(); ++k) write_npy(inputs[k].contiguous(), input_dir / fmt::format("input_{}.npy", k));

  FreshLatency result;
  json malloc;
  // When either file's processes disagree by over kSteadyProcessSpread, up to as many rounds again:
  // the pooled median of more processes is a steadier estimate of what the next process will read.
  auto unsteady = [&] {
    return process_spread(result.before_process_p50_ms) > kSteadyProcessSpread ||
           process_spread(result.after_process_p50_ms) > kSteadyProcessSpread;
  };
  const int most_rounds = rounds > 1 ? 2 * rounds : 1;
  int done = 0;
  for (; done < most_rounds && (done < rounds || unsteady()); ++done) {
    const int calls = calls_in_round(done % rounds);
    auto b = bench_in_child(before, input_dir, settings.warmup, calls, settings, scratch, 2 * done);
    auto a = bench_in_child(after, input_dir, settings.warmup, calls, settings, scratch, 2 * done + 1);
    malloc = a.malloc;
    result.before_ms.insert(result.before_ms.end(), b.samples_ms.begin(), b.samples_ms.end());
    result.after_ms.insert(result.after_ms.end(), a.samples_ms.begin(), a.samples_ms.end());
    result.before_page_faults = std::max(result.before_page_faults, b.page_faults_per_call);
    result.after_page_faults = std::max(result.after_page_faults, a.page_faults_per_call);
    result.before_process_p50_ms.push_back(summarize_latencies(b.samples_ms).p50_ms);
    result.after_process_p50_ms.push_back(summarize_latencies(a.samples_ms).p50_ms);
  }
  result.method = {{"method", "fresh process per round: mopt bench on the saved file, alternating before/after"},
                   {"command", fmt::format("mopt bench FILE --batch 1 --threads {} --engine {} --warmup {} --iterations {}{}{}",
                                           settings.threads, settings.engine, settings.warmup, calls_in_round(0),
                                           settings.tuned_allocator ? " --malloc-tuned" : "",
                                           settings.device != "cpu" ? " --device " + settings.device : "")},
                   {"rounds", done},
                   {"extra_rounds", done - rounds},
                   {"warmup_per_round", settings.warmup},
                   {"timed_calls", result.before_ms.size()},
                   {"threads", settings.threads},
                   {"engine", settings.engine},
                   {"device", settings.device},
                   {"malloc", malloc}};
  return result;
}

}  // namespace mopt
