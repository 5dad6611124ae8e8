#include "lib/eval/model_comparison.h"

#include <fmt/format.h>

#include <algorithm>

#include "lib/bench/latency_stats.h"
#include "lib/bench/memory.h"
#include "lib/eval/evaluate.h"
#include "lib/eval/fresh_latency.h"
#include "lib/model/onnx_io.h"
#include "lib/onnx/import/onnx_importer.h"
#include "lib/runtime/onnxruntime_runner.h"
#include "lib/runtime/runtime.h"
#include "lib/util/scratch_dir.h"

namespace mopt {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

bool is_onnx_file(const fs::path& path) { return detect_format(path) == ModelFormat::kOnnx; }

// The model's outputs over the whole dataset, computed by the runtime that will run the file.
torch::Tensor outputs_of(const fs::path& file, const Dataset& data, const ComparisonSettings& settings, int threads) {
  if (!is_onnx_file(file)) return run_model_batched(load_executable(file), data.input_list(), settings.eval_batch);
  OrtRequest request;
  request.model = file;
  request.eval_inputs = data.input_list();
  request.eval_threads = threads;
  auto fixed = declared_batch(load_onnx(file));  // ONNX Runtime enforces a declared batch
  request.eval_batch = fixed > 0 ? fixed : settings.eval_batch;
  return run_onnxruntime(request).eval_outputs;
}

double top1(const torch::Tensor& outputs, const torch::Tensor& labels) {
  return outputs.argmax(1).eq(labels).to(torch::kDouble).mean().item<double>();
}

json timed_side(const std::vector<double>& samples_ms, double page_faults_per_call) {
  return {{"latency", latency_json(summarize_latencies(samples_ms))}, {"page_faults_per_call", page_faults_per_call}};
}

// A file whose buffers glibc maps afresh every call can run several times faster in a process
// that keeps them (README, "Page faults and the C allocator"), and the thresholds that decide it
// belong to the deploying process, not to the file. So such files are timed again, in the same
// way, with the thresholds a deploying process can set, and the result shows both figures.
json allocator_check(const fs::path& before, const fs::path& after, const std::vector<torch::Tensor>& inputs,
                     const FreshLatencySettings& timing, const FreshLatency& plain) {
  if (malloc_tuned()) return {{"status", "not needed"}, {"reason", "the allocator thresholds are already set in this process"}};
  if (faulted_mb(std::max(plain.before_page_faults, plain.after_page_faults)) < kFreshMemoryHintMb) {
    return {{"status", "not needed"}, {"reason", fmt::format("under {} MB mapped afresh per call", kFreshMemoryHintMb)}};
  }
  if (!glibc_allocator_in_use()) return {{"status", "skipped"}, {"reason", "this build's allocator is a sanitizer's, not glibc's"}};
  auto tuned_timing = timing;
  tuned_timing.tuned_allocator = true;
  auto tuned = measure_fresh_latency(before, after, inputs, tuned_timing);
  const double before_ms = summarize_latencies(tuned.before_ms).p50_ms, after_ms = summarize_latencies(tuned.after_ms).p50_ms;
  return {{"status", "measured"},
          {"settings", kTunedMallocEnv},
          {"before", timed_side(tuned.before_ms, tuned.before_page_faults)},
          {"after", timed_side(tuned.after_ms, tuned.after_page_faults)},
          {"speedup_p50", after_ms > 0 ? before_ms / after_ms : 0.0},
          {"latency_measurement", tuned.method}};
}

}  // namespace

std::string tuned_allocator_clause(const json& comparison) {
  if (!comparison.contains("allocator_check") || comparison["allocator_check"]["status"] != "measured") return "";
  return fmt::format("; {:.2f}x with the allocator thresholds a deploying process can set ({})",
                     comparison["allocator_check"]["speedup_p50"].get<double>(), kTunedMallocEnv);
}

FreshLatencySettings fresh_timing(const ComparisonSettings& settings) {
  FreshLatencySettings timing;
  timing.warmup = settings.warmup;
  timing.iterations = settings.iterations;
  timing.threads = settings.threads > 0 ? settings.threads : active_threads();
  return timing;
}

json compare_files(const fs::path& before, const fs::path& after, const Dataset& data, const ComparisonSettings& settings) {
  const int threads = settings.threads > 0 ? settings.threads : active_threads();
  auto out_before = outputs_of(before, data, settings, threads);
  auto out_after = outputs_of(after, data, settings, threads);

  const auto timed_inputs = data.input_rows(0, 1);
  auto latency = measure_fresh_latency(before, after, timed_inputs, fresh_timing(settings));

  auto agreement = compare_outputs(out_before, out_after);
  auto lat_before = summarize_latencies(latency.before_ms);
  auto lat_after = summarize_latencies(latency.after_ms);
  auto runtime_of = [](const fs::path& file) { return is_onnx_file(file) ? "onnxruntime" : "libtorch"; };
  json result = {{"before", timed_side(latency.before_ms, latency.before_page_faults)},
                 {"after", timed_side(latency.after_ms, latency.after_page_faults)},
                 {"agreement",
                  {{"max_abs_diff", agreement.max_abs_diff},
                   {"cosine", agreement.cosine},
                   {"top1_agreement", agreement.top1_agreement},
                   {"sqnr_db", agreement.sqnr_db}}},
                 {"speedup_p50", lat_after.p50_ms > 0 ? lat_before.p50_ms / lat_after.p50_ms : 0.0},
                 {"samples", data.size()},
                 {"data", data.description},
                 {"runtime", {{"before", runtime_of(before)}, {"after", runtime_of(after)}}},
                 {"latency_measurement", latency.method}};
  if (settings.allocator_check) result["allocator_check"] = allocator_check(before, after, timed_inputs, fresh_timing(settings), latency);
  if (data.has_labels()) {
    result["before"]["accuracy"] = {{"top1", top1(out_before, data.labels)}};
    result["after"]["accuracy"] = {{"top1", top1(out_after, data.labels)}};
  }
  return result;
}

json compare_models(const Model& before, const Model& after, const Dataset& data, const ComparisonSettings& settings) {
  ScratchDir scratch("mopt-compare");
  auto saved = [&](const Model& model, const std::string& stem) {
    auto path = scratch.file(stem + (model.is_onnx() ? ".onnx" : ".pt"));
    model.save(path);
    return path;
  };
  return compare_files(saved(before, "before"), saved(after, "after"), data, settings);
}

}  // namespace mopt
