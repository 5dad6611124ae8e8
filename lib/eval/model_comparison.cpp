#include "lib/eval/model_comparison.h"

#include "lib/bench/latency_stats.h"
#include "lib/bench/timed_run.h"
#include "lib/eval/evaluate.h"

namespace mopt {
using nlohmann::json;

json compare_models(const Model& before, const Model& after, const Dataset& data, const ComparisonSettings& settings) {
  auto out_before = run_model_batched(before, data.inputs, settings.eval_batch);
  auto out_after = run_model_batched(after, data.inputs, settings.eval_batch);
  auto agreement = compare_outputs(out_before, out_after);

  // Alternate rounds of the two models so a burst of load on the shared machine hits both alike;
  // each model's samples are pooled across its rounds.
  auto sample = data.inputs.slice(0, 0, 1);
  const int rounds = 5;
  StopRule rule;
  rule.iterations = std::max<int64_t>(1, settings.iterations / rounds);
  std::vector<double> samples_before, samples_after;
  for (int r = 0; r < rounds; ++r) {
    int64_t warmup = r == 0 ? settings.warmup : 2;
    auto b = run_timed([&] { run_model(before, sample); }, warmup, rule);
    auto a = run_timed([&] { run_model(after, sample); }, warmup, rule);
    samples_before.insert(samples_before.end(), b.samples_ms.begin(), b.samples_ms.end());
    samples_after.insert(samples_after.end(), a.samples_ms.begin(), a.samples_ms.end());
  }
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

}  // namespace mopt
