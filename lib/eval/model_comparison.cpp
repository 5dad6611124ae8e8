#include "lib/eval/model_comparison.h"

#include <fmt/format.h>

#include <algorithm>

#include "lib/eval/evaluate.h"
#include "lib/eval/fresh_latency.h"
#include "lib/eval/on_device.h"
#include "lib/measure/latency_stats.h"
#include "lib/measure/memory.h"
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
  if (settings.device != "cpu") {
    const c10::Device device(settings.device);
    return run_on_device(model_on_device(load_executable(file), device), data.input_list(), device, settings.eval_batch);
  }
  if (!is_onnx_file(file)) return run_model_batched(load_executable(file), data.input_list(), settings.eval_batch);
  const auto proto = load_onnx(file);
  check_fits_declared_inputs(proto, data.input_rows(0, 1), data.description);
  OrtRequest request;
  request.model = file;
  request.eval_inputs = data.input_list();
  request.data_description = data.description;
  request.eval_threads = threads;
  auto fixed = declared_batch(proto);  // ONNX Runtime enforces a declared batch
  request.eval_batch = fixed > 0 ? fixed : settings.eval_batch;
  return run_onnxruntime(request).eval_outputs;
}

double top1(const torch::Tensor& outputs, const torch::Tensor& labels) {
  return outputs.argmax(1).eq(labels).to(torch::kDouble).mean().item<double>();
}

// One file's figures: pooled latency, page faults per call, and each process's own p50 with the
// slowest over the fastest of them (how far a single `mopt bench` run of the file can land).
json file_figures(const LatencyStats& pooled, double page_faults, const std::vector<double>& process_p50s) {
  return {{"latency", latency_json(pooled)},
          {"page_faults_per_call", page_faults},
          {"process_p50_ms", process_p50s},
          {"process_spread", process_spread(process_p50s)}};
}

// {before: file_figures, after: file_figures, speedup_p50} of one fresh-process measurement.
json timed_pair(const FreshLatency& latency) {
  const auto before = summarize_latencies(latency.before_ms), after = summarize_latencies(latency.after_ms);
  return {{"before", file_figures(before, latency.before_page_faults, latency.before_process_p50_ms)},
          {"after", file_figures(after, latency.after_page_faults, latency.after_process_p50_ms)},
          {"speedup_p50", after.p50_ms > 0 ? before.p50_ms / after.p50_ms : 0.0}};
}

// A file whose buffers glibc maps afresh every call can run several times faster in a process
// that keeps them (docs/measurement.md, "Where the time goes"), and the thresholds that decide it
// belong to the deploying process, not to the file. So such files are timed again, in the same
// way, with the thresholds a deploying process can set, and the result shows both figures.
json allocator_check(const fs::path& before, const fs::path& after, const std::vector<torch::Tensor>& inputs,
                     const FreshLatencySettings& timing, const FreshLatency& plain) {
  if (malloc_tuned()) return {{"status", "not needed"}, {"reason", "the allocator thresholds are already set in this process"}};
  if (!maps_memory_afresh(std::max(plain.before_page_faults, plain.after_page_faults))) {
    return {{"status", "not needed"}, {"reason", fmt::format("under {} MB mapped afresh per call", kFreshMemoryHintMb)}};
  }
  if (!glibc_allocator_in_use()) return {{"status", "skipped"}, {"reason", "this build's allocator is a sanitizer's, not glibc's"}};
  if (timing.device != "cpu") return {{"status", "skipped"}, {"reason", "measured on a GPU, whose memory the C allocator does not hold"}};
  auto tuned_timing = timing;
  tuned_timing.tuned_allocator = true;
  auto tuned = measure_fresh_latency(before, after, inputs, tuned_timing);
  json check = timed_pair(tuned);
  check["status"] = "measured";
  check["settings"] = kTunedMallocEnv;
  check["latency_measurement"] = tuned.method;
  return check;
}

}  // namespace

const json* tuned_allocator_figures(const json& comparison) {
  auto check = comparison.find("allocator_check");
  return check != comparison.end() && check->value("status", "") == "measured" ? &*check : nullptr;
}

std::string tuned_allocator_clause(const json& comparison) {
  const json* tuned = tuned_allocator_figures(comparison);
  if (!tuned) return "";
  return fmt::format("; {:.2f}x with the allocator thresholds a deploying process can set ({})",
                     (*tuned)["speedup_p50"].get<double>(), kTunedMallocEnv);
}

FreshLatencySettings fresh_timing(const ComparisonSettings& settings) {
  FreshLatencySettings timing;
  timing.warmup = settings.warmup;
  timing.iterations = settings.iterations;
  timing.threads = settings.threads > 0 ? settings.threads : active_threads();
  timing.device = settings.device;
  return timing;
}

json compare_files(const fs::path& before, const fs::path& after, const Dataset& data, const ComparisonSettings& settings) {
  const int threads = settings.threads > 0 ? settings.threads : active_threads();
  auto out_before = outputs_of(before, data, settings, threads);
  auto out_after = outputs_of(after, data, settings, threads);

  json result = {{"before", json::object()}, {"after", json::object()}};
  if (settings.time_latency) {
    const auto timed_inputs = data.input_rows(0, 1);
    auto latency = measure_fresh_latency(before, after, timed_inputs, fresh_timing(settings));
    result = timed_pair(latency);
    result["latency_measurement"] = latency.method;
    if (settings.allocator_check) result["allocator_check"] = allocator_check(before, after, timed_inputs, fresh_timing(settings), latency);
  } else {
    result["latency_measurement"] = {{"method", kNoLatencyReason}};
  }
  auto agreement = compare_outputs(out_before, out_after);
  auto runtime_of = [](const fs::path& file) { return is_onnx_file(file) ? "onnxruntime" : "libtorch"; };
  result["agreement"] = agreement_json(agreement);
  result["samples"] = data.size();
  result["data"] = data.description;
  result["runtime"] = {{"before", runtime_of(before)}, {"after", runtime_of(after)}};
  result["device"] = settings.device;
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
