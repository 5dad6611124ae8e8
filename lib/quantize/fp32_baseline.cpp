#include "lib/quantize/fp32_baseline.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <set>

#include "lib/eval/fresh_latency.h"
#include "lib/measure/latency_stats.h"
#include "lib/pipeline/pass_manager.h"
#include "lib/util/scratch_dir.h"

namespace mopt::quant {
namespace {

// Rewrites by the steps of `result` whose pass the default pipeline does not run.
int64_t rewrites_beyond(const PipelineResult& result, const Pipeline& default_pipeline) {
  std::set<std::string> default_passes;
  for (const auto& step : default_pipeline.steps) default_passes.insert(step.name);
  int64_t rewrites = 0;
  for (const auto& record : result.records) {
    if (!default_passes.count(record.name)) rewrites += record.stats.rewrites;
  }
  return rewrites;
}

}  // namespace

Fp32Baseline fastest_fp32_baseline(const Model& fp32, const std::vector<std::string>& candidates, const Dataset& data,
                                   const ComparisonSettings& comparison, const PassRegistry& registry,
                                   const std::function<void(const std::string&)>& log) {
  const auto first = parse_pipeline(candidates.front());
  Fp32Baseline baseline{run_pipeline(fp32, first, registry).model.reloaded(), candidates.front()};
  if (!comparison.time_latency) {  // the choice is a timing: nothing to decide it with
    log(fmt::format("fp32 baseline: {} (--no-latency: no other layout is tried)", baseline.pipeline));
    return baseline;
  }
  // Each candidate is timed against the best so far, side by side in fresh processes; the best's
  // figure is its latest, and the baseline is the fastest of the figures recorded.
  std::map<std::string, Model> models{{baseline.pipeline, baseline.model}};
  ScratchDir scratch("mopt-baseline");
  for (size_t i = 1; i < candidates.size(); ++i) {
    auto result = run_pipeline(fp32, parse_pipeline(candidates[i]), registry);
    if (rewrites_beyond(result, first) == 0) break;
    auto candidate = result.model.reloaded();
    models.at(baseline.pipeline).save(scratch.file("best.pt"));
    candidate.save(scratch.file("candidate.pt"));
    auto latency = measure_fresh_latency(scratch.file("best.pt"), scratch.file("candidate.pt"), data.input_rows(0, 1),
                                         fresh_timing(comparison));
    const double best_ms = summarize_latencies(latency.before_ms).p50_ms;
    const double candidate_ms = summarize_latencies(latency.after_ms).p50_ms;
    log(fmt::format("fp32 baseline: p50 {:.3f} ms {}, {:.3f} ms {}", best_ms, baseline.pipeline, candidate_ms, candidates[i]));
    baseline.measured[baseline.pipeline] = best_ms;
    baseline.measured[candidates[i]] = candidate_ms;
    models.emplace(candidates[i], std::move(candidate));
    for (const auto& [name, ms] : baseline.measured.items()) {
      if (ms.get<double>() < baseline.measured[baseline.pipeline].get<double>()) baseline.pipeline = name;
    }
  }
  baseline.model = models.at(baseline.pipeline);
  return baseline;
}

}  // namespace mopt::quant
