#include "lib/eval/model_comparison.h"

#include "lib/eval/evaluate.h"

namespace mopt {
using nlohmann::json;

namespace {

json latency_json(const LatencySummary& s) {
  return {{"latency_p50_ms", s.p50_ms}, {"latency_p90_ms", s.p90_ms}, {"latency_mean_ms", s.mean_ms},
          {"latency_iterations", s.iterations}};
}

}  // namespace

json compare_models(const Model& before, const Model& after, const Dataset& data, const ComparisonSettings& settings) {
  auto out_before = run_model_batched(before, data.inputs, settings.eval_batch);
  auto out_after = run_model_batched(after, data.inputs, settings.eval_batch);
  auto agreement = compare_outputs(out_before, out_after);

  // Alternate rounds of the two models so a burst of load on the shared machine hits both.
  auto sample = data.inputs.slice(0, 0, 1);
  const int rounds = 5;
  LatencySummary lat_before, lat_after;
  std::vector<double> p50_before, p50_after, p90_before, p90_after, mean_before, mean_after;
  for (int r = 0; r < rounds; ++r) {
    auto b = measure_latency([&] { run_model(before, sample); }, r == 0 ? settings.warmup : 2, settings.iterations / rounds);
    auto a = measure_latency([&] { run_model(after, sample); }, r == 0 ? settings.warmup : 2, settings.iterations / rounds);
    p50_before.push_back(b.p50_ms), p50_after.push_back(a.p50_ms);
    p90_before.push_back(b.p90_ms), p90_after.push_back(a.p90_ms);
    mean_before.push_back(b.mean_ms), mean_after.push_back(a.mean_ms);
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  lat_before = {median(p50_before), median(p90_before), median(mean_before), rounds * (settings.iterations / rounds)};
  lat_after = {median(p50_after), median(p90_after), median(mean_after), rounds * (settings.iterations / rounds)};

  json result = {{"before", latency_json(lat_before)},
                 {"after", latency_json(lat_after)},
                 {"agreement",
                  {{"max_abs_diff", agreement.max_abs_diff},
                   {"cosine", agreement.cosine},
                   {"top1_agreement", agreement.top1_agreement}}},
                 {"speedup_p50", lat_after.p50_ms > 0 ? lat_before.p50_ms / lat_after.p50_ms : 0.0},
                 {"samples", data.size()},
                 {"data", data.description}};
  if (data.has_labels()) {
    auto labels = data.labels;
    result["before"]["accuracy"] = out_before.argmax(1).eq(labels).to(torch::kDouble).mean().item<double>();
    result["after"]["accuracy"] = out_after.argmax(1).eq(labels).to(torch::kDouble).mean().item<double>();
  }
  return result;
}

}  // namespace mopt
