#include "lib/quantize/engine_choice.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>

#include "lib/eval/fresh_latency.h"
#include "lib/measure/latency_stats.h"
#include "lib/runtime/runtime.h"
#include "lib/util/scratch_dir.h"

namespace mopt::quant {

EngineChoice fastest_engine(const Model& int8, const Dataset& data, const ComparisonSettings& comparison,
                            const std::function<void(const std::string&)>& log) {
  EngineChoice choice{active_engine(), nlohmann::json::object()};
  std::vector<std::string> engines;
  for (const auto& engine : available_engines()) {
    if (engine == "x86" || engine == "onednn" || engine == "fbgemm") engines.push_back(engine);
  }
  if (engines.size() < 2) return choice;
  ScratchDir scratch("mopt-engines");
  const auto file = scratch.file("int8.pt");
  int8.save(file);
  // Each engine times the file as both sides of a fresh-process pairing: its samples pooled.
  for (const auto& engine : engines) {
    auto settings = fresh_timing(comparison);
    settings.engine = engine;
    auto latency = measure_fresh_latency(file, file, data.input_rows(0, 1), settings);
    auto samples = latency.before_ms;
    samples.insert(samples.end(), latency.after_ms.begin(), latency.after_ms.end());
    choice.p50_ms[engine] = summarize_latencies(samples).p50_ms;
  }
  std::string fastest = choice.engine;
  for (const auto& [engine, ms] : choice.p50_ms.items()) {
    if (ms.get<double>() < choice.p50_ms.value(fastest, 1e300)) fastest = engine;
  }
  const double current = choice.p50_ms.value(choice.engine, 1e300);
  if (current >= kEngineAdvantage * choice.p50_ms[fastest].get<double>()) choice.engine = fastest;
  std::vector<std::string> figures;
  for (const auto& [engine, ms] : choice.p50_ms.items()) figures.push_back(fmt::format("{:.3f} ms {}", ms.get<double>(), engine));
  log(fmt::format("quantized engine: p50 {}: {}", fmt::join(figures, ", "), choice.engine));
  return choice;
}

}  // namespace mopt::quant
