#include "lib/eval/keep_if_faster.h"

#include <fmt/format.h>

#include "lib/errors.h"

namespace mopt {
using nlohmann::json;

MeasuredPipelineResult run_pipeline_keep_if_faster(const Model& input, const Pipeline& pipeline,
                                                   const PassRegistry& registry, const Dataset& data,
                                                   const ComparisonSettings& settings, double tolerance,
                                                   const std::function<void(const std::string&)>& log) {
  MeasuredPipelineResult result{input.clone(), {}, json::array(), ""};
  Pipeline kept;
  for (const auto& step : pipeline.steps) {
    auto candidate = run_pipeline(result.model, Pipeline{{step}}, registry);
    auto text = print_step(step);
    nlohmann::json comparison;
    try {
      comparison = compare_models(result.model, candidate.model, data, settings);
    } catch (const std::exception& e) {
      // A rewrite the model cannot run with (e.g. a layout an op refuses) is dropped, not fatal.
      auto reason = fmt::format("dropped: the model fails to run after it ({})", short_torch_message(e.what()));
      log(fmt::format("{:<32} {}", text, reason));
      result.decisions.push_back({{"step", text}, {"kept", false}, {"speedup_p50", nullptr}, {"reason", reason}});
      continue;
    }
    const auto& before = comparison["before"]["latency"];
    const auto& after = comparison["after"]["latency"];
    double speedup = comparison["speedup_p50"].get<double>();
    bool slower = after["p50_ms"].get<double>() > before["p50_ms"].get<double>() * (1 + tolerance) &&
                  after["p50_ci95_ms"][0].get<double>() > before["p50_ci95_ms"][1].get<double>();
    bool changed = outputs_changed(comparison["agreement"]);
    std::string reason = changed ? fmt::format("dropped: outputs changed (cosine {:.4f})",
                                               comparison["agreement"]["cosine"].get<double>())
                         : slower ? fmt::format("dropped: {:.2f}x (slower beyond noise)", speedup)
                                  : fmt::format("kept: {:.2f}x", speedup);
    log(fmt::format("{:<32} {}", text, reason));
    result.decisions.push_back({{"step", text}, {"kept", !slower && !changed}, {"speedup_p50", speedup},
                                {"reason", reason}, {"max_abs_diff", comparison["agreement"]["max_abs_diff"]}});
    if (slower || changed) continue;
    result.model = candidate.model;
    result.kept.push_back(candidate.records.front());
    kept.steps.push_back(step);
  }
  result.kept_pipeline = kept.steps.empty() ? "" : print_pipeline(kept);
  return result;
}

}  // namespace mopt
