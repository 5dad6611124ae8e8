#include "lib/bench/bench_runner.h"

#include <ATen/Parallel.h>
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <limits>

#include "lib/bench/flops.h"
#include "lib/util/log.h"
#include "lib/bench/latency_stats.h"
#include "lib/bench/memory.h"
#include "lib/errors.h"
#include "lib/eval/evaluate.h"
#include "lib/model/graph_stats.h"
#include "lib/onnx/import/onnx_importer.h"

namespace mopt {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

double elapsed_ms(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

json accuracy_metrics(const torch::Tensor& logits, const torch::Tensor& labels) {
  if (logits.dim() != 2) throw invalid_input(fmt::format("accuracy needs [N, classes] outputs; the model returned {}",
                                                         fmt::join(logits.sizes(), "x")));
  if (labels.max().item<int64_t>() >= logits.size(1)) {
    throw invalid_input(fmt::format("labels go up to {} but the model has {} outputs", labels.max().item<int64_t>(),
                                    logits.size(1)));
  }
  auto top1 = logits.argmax(1).eq(labels).to(torch::kDouble).mean().item<double>();
  int64_t k = std::min<int64_t>(5, logits.size(1));
  auto topk = std::get<1>(logits.topk(k, 1));
  auto top5 = topk.eq(labels.unsqueeze(1)).any(1).to(torch::kDouble).mean().item<double>();
  return {{"top1", top1}, {"top5", top5}, {"samples", labels.size(0)}};
}

json row_metrics(const Model& model, const torch::Tensor& input, int64_t batch, int threads, double baseline_rss_mb,
                 const BenchSettings& settings, const BenchProgress& progress) {
  at::set_num_threads(threads);
  auto label = fmt::format("batch={} threads={}", batch, threads);
  reset_peak_rss();
  auto call = [&] { run_model(model, input); };
  auto run = run_timed(call, settings.warmup, settings.stop,
                       [&](int64_t done, double elapsed) { if (progress) progress(label, done, elapsed); });
  auto stats = summarize_latencies(run.samples_ms);
  double peak = peak_rss_mb();
  json row = {{"batch", batch},
              {"threads", threads},
              {"latency", latency_json(stats)},
              {"throughput",
               {{"inferences_per_s", 1000.0 / stats.mean_ms}, {"samples_per_s", 1000.0 * static_cast<double>(batch) / stats.mean_ms}}},
              {"memory", {{"peak_mb", peak}, {"increase_mb", peak - baseline_rss_mb}}},
              {"stop_rule", describe(settings.stop)},
              {"stopped_by", run.stopped_by},
              {"elapsed_s", run.elapsed_s}};
  // The input already ran (cold start), so a failure here is a limit of the counter, not bad input:
  // report the work as unknown rather than failing the benchmark.
  MacCount macs;
  try {
    macs = count_macs(model, input);
  } catch (const std::exception& e) {
    macs.complete = false;
    log_verbose("MACs not counted: {}", short_torch_message(e.what()));
  }
  row["work"] = {{"macs", macs.macs}, {"layers_counted", macs.layers}, {"complete", macs.complete},
                 {"gflops", stats.p50_ms > 0 ? 2.0 * static_cast<double>(macs.macs) / (stats.p50_ms * 1e6) : 0.0}};
  return row;
}

}  // namespace

torch::Tensor make_batch(const torch::Tensor& inputs, int64_t batch) {
  if (inputs.size(0) >= batch) return inputs.slice(0, 0, batch).contiguous();
  auto index = torch::arange(batch, torch::kLong).remainder(inputs.size(0));
  return inputs.index_select(0, index).contiguous();
}

json run_bench(const BenchSettings& settings, const BenchProgress& progress) {
  if (settings.data.size() == 0) throw usage_error("bench needs inputs: give --data or --input-shape");
  const double baseline_rss = current_rss_mb();

  // Cold start: load, then the first inference, apart from the steady state.
  auto load_start = std::chrono::steady_clock::now();
  Model model = load_executable(settings.model_path);
  double load_ms = elapsed_ms(load_start);
  auto first_input = make_batch(settings.data.inputs, settings.batches.front());
  auto first_start = std::chrono::steady_clock::now();
  run_model(model, first_input);
  double first_ms = elapsed_ms(first_start);

  auto params = parameter_totals(model);
  json metrics = {{"model",
                   {{"file_mb", static_cast<double>(fs::file_size(settings.model_path)) / 1e6},
                    {"parameters", params.count},
                    {"parameter_mb", static_cast<double>(params.bytes) / 1e6}}},
                  {"cold_start", {{"load_ms", load_ms}, {"first_inference_ms", first_ms}}},
                  {"rows", json::array()}};

  auto threads = settings.threads.empty() ? std::vector<int>{at::get_num_threads()} : settings.threads;
  const int original_threads = at::get_num_threads();
  for (int t : threads) {
    for (int64_t batch : settings.batches) {
      auto input = make_batch(settings.data.inputs, batch);
      metrics["rows"].push_back(row_metrics(model, input, batch, t, baseline_rss, settings, progress));
    }
  }
  at::set_num_threads(original_threads);

  if (settings.data.has_labels() || !settings.reference_path.empty()) {
    auto outputs = run_model_batched(model, settings.data.inputs, settings.eval_batch);
    if (settings.data.has_labels()) metrics["accuracy"] = accuracy_metrics(outputs, settings.data.labels);
    if (!settings.reference_path.empty()) {
      auto reference = load_executable(settings.reference_path);
      auto expected = run_model_batched(reference, settings.data.inputs, settings.eval_batch);
      auto agreement = compare_outputs(expected, outputs);
      metrics["agreement"] = {{"top1_agreement", agreement.top1_agreement},
                              {"max_abs_diff", agreement.max_abs_diff},
                              {"cosine", agreement.cosine},
                              {"sqnr_db", agreement.sqnr_db},
                              {"samples", settings.data.size()}};
    }
  }
  return metrics;
}

}  // namespace mopt
