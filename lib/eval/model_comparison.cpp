#include "lib/eval/model_comparison.h"

#include "lib/bench/latency_stats.h"
#include "lib/bench/timed_run.h"
#include "lib/eval/evaluate.h"
#include "lib/model/onnx_io.h"
#include "lib/onnx/import/onnx_importer.h"
#include "lib/runtime/onnxruntime_runner.h"

namespace mopt {
using nlohmann::json;

namespace {

constexpr int kRounds = 5;

json comparison_json(const std::vector<double>& samples_before, const std::vector<double>& samples_after,
                     const torch::Tensor& out_before, const torch::Tensor& out_after, const Dataset& data) {
  auto agreement = compare_outputs(out_before, out_after);
  auto lat_before = summarize_latencies(samples_before);
  auto lat_after = summarize_latencies(samples_after);
  json result = {{"before", {{"latency", latency_json(lat_before)}}},
                 {"after", {{"latency", latency_json(lat_after)}}},
                 {"agreement",
                  {{"max_abs_diff", agreement.max_abs_diff},
                   {"cosine", agreement.cosine},
                   {"top1_agreement", agreement.top1_agreement},
                   {"sqnr_db", agreement.sqnr_db}}},
                 {"speedup_p50", lat_after.p50_ms > 0 ? lat_before.p50_ms / lat_after.p50_ms : 0.0},
                 {"samples", data.size()},
                 {"data", data.description}};
  if (data.has_labels()) {
    auto labels = data.labels;
    result["before"]["accuracy"] = {{"top1", out_before.argmax(1).eq(labels).to(torch::kDouble).mean().item<double>()}};
    result["after"]["accuracy"] = {{"top1", out_after.argmax(1).eq(labels).to(torch::kDouble).mean().item<double>()}};
  }
  return result;
}

}  // namespace

json compare_models(const Model& before, const Model& after, const Dataset& data, const ComparisonSettings& settings) {
  auto out_before = run_model_batched(before, data.inputs, settings.eval_batch);
  auto out_after = run_model_batched(after, data.inputs, settings.eval_batch);

  // Alternate rounds of the two models so a burst of load on the shared machine hits both alike;
  // each model's samples are pooled across its rounds.
  auto sample = data.inputs.slice(0, 0, 1);
  StopRule rule;
  rule.iterations = std::max<int64_t>(1, settings.iterations / kRounds);
  std::vector<double> samples_before, samples_after;
  for (int r = 0; r < kRounds; ++r) {
    int64_t warmup = r == 0 ? settings.warmup : 2;
    auto b = run_timed([&] { run_model(before, sample); }, warmup, rule);
    auto a = run_timed([&] { run_model(after, sample); }, warmup, rule);
    samples_before.insert(samples_before.end(), b.samples_ms.begin(), b.samples_ms.end());
    samples_after.insert(samples_after.end(), a.samples_ms.begin(), a.samples_ms.end());
  }
  return comparison_json(samples_before, samples_after, out_before, out_after, data);
}

namespace {

// One ORT helper run of an ONNX file: timed calls at batch 1, plus its outputs over the data if asked.
OrtResult onnxruntime_round(const std::filesystem::path& model, const Dataset& data, const ComparisonSettings& settings,
                            int threads, const StopRule& rule, bool with_outputs) {
  OrtRequest request;
  request.model = model;
  request.warmup = settings.warmup;
  request.stop = rule;
  request.rows.push_back({threads, data.inputs.slice(0, 0, 1).contiguous()});
  if (with_outputs) {  // at the model's declared batch if it has one
    request.eval_inputs = data.inputs;
    request.eval_threads = threads;
    auto fixed = declared_batch(load_onnx(model));
    request.eval_batch = fixed > 0 ? fixed : settings.eval_batch;
  }
  return run_onnxruntime(request);
}

}  // namespace

json compare_with_onnx_export(const Model& before, const std::filesystem::path& after, const Dataset& data,
                              const ComparisonSettings& settings, int threads) {
  auto out_before = run_model_batched(before, data.inputs, settings.eval_batch);
  auto sample = data.inputs.slice(0, 0, 1);
  StopRule rule;
  rule.iterations = std::max<int64_t>(1, settings.iterations / kRounds);
  std::vector<double> samples_before, samples_after;
  torch::Tensor out_after;
  for (int r = 0; r < kRounds; ++r) {
    auto b = run_timed([&] { run_model(before, sample); }, r == 0 ? settings.warmup : 2, rule);
    samples_before.insert(samples_before.end(), b.samples_ms.begin(), b.samples_ms.end());
    auto a = onnxruntime_round(after, data, settings, threads, rule, r == 0);
    samples_after.insert(samples_after.end(), a.rows[0].samples_ms.begin(), a.rows[0].samples_ms.end());
    if (r == 0) out_after = a.eval_outputs;
  }
  auto result = comparison_json(samples_before, samples_after, out_before, out_after, data);
  result["runtime"] = {{"before", "libtorch"}, {"after", "onnxruntime"}};
  return result;
}

json compare_onnx_files(const std::filesystem::path& before, const std::filesystem::path& after, const Dataset& data,
                        const ComparisonSettings& settings, int threads) {
  StopRule rule;
  rule.iterations = std::max<int64_t>(1, settings.iterations / kRounds);
  std::vector<double> samples_before, samples_after;
  torch::Tensor out_before, out_after;
  for (int r = 0; r < kRounds; ++r) {
    auto b = onnxruntime_round(before, data, settings, threads, rule, r == 0);
    auto a = onnxruntime_round(after, data, settings, threads, rule, r == 0);
    samples_before.insert(samples_before.end(), b.rows[0].samples_ms.begin(), b.rows[0].samples_ms.end());
    samples_after.insert(samples_after.end(), a.rows[0].samples_ms.begin(), a.rows[0].samples_ms.end());
    if (r == 0) {
      out_before = b.eval_outputs;
      out_after = a.eval_outputs;
    }
  }
  auto result = comparison_json(samples_before, samples_after, out_before, out_after, data);
  result["runtime"] = {{"before", "onnxruntime"}, {"after", "onnxruntime"}};
  return result;
}

}  // namespace mopt
