#include "lib/pipeline/pass_manager.h"

#include <fmt/format.h>

#include <chrono>
#include <map>

#include "lib/errors.h"
#include "lib/model/layer_map.h"

namespace mopt {

PipelineResult run_pipeline(const Model& input, const Pipeline& pipeline, const PassRegistry& registry,
                            const PassProgress& progress, const PassContext& context) {
  validate_pipeline(pipeline, registry);
  // Check every step before running any, so a bad pipeline fails fast and does no work.
  for (const auto& step : pipeline.steps) {
    const auto& info = registry.find(step.name)->info();
    if (!info.supports(input.format())) {
      std::vector<std::string> formats;
      for (auto f : info.formats) formats.push_back(format_name(f));
      throw usage_error(fmt::format("pass '{}' does not support {} models (it supports: {})", step.name,
                                    format_name(input.format()), fmt::join(formats, ", ")));
    }
    if (info.needs_calibration && !context.calibration) {
      throw usage_error(fmt::format("pass '{}' calibrates activations: give calibration inputs (--calib DATA)", step.name));
    }
  }

  PipelineResult result{input.clone(), {}};
  for (size_t i = 0; i < pipeline.steps.size(); ++i) {
    const auto& step = pipeline.steps[i];
    const Pass* pass = registry.find(step.name);
    std::map<std::string, std::string> values(step.options.begin(), step.options.end());
    PassOptions options(pass->info(), values);
    if (progress) progress(i, pipeline.steps.size(), print_step(step));

    PassRecord record{step.name, print_step(step), 0, {}};
    auto start = std::chrono::steady_clock::now();
    try {
      // Passes that rewrite a frozen graph drop its ops' layers; carry them over (layer_map.h).
      const auto layers = result.model.is_torchscript() ? snapshot_layers(result.model.torchscript()) : LayerSnapshot{};
      record.stats = pass->run(result.model, options, context);
      if (result.model.is_torchscript()) carry_layers(layers, result.model.torchscript());
      result.model.invalidate_graph_caches();
    } catch (const c10::Error& e) {
      throw runtime_failure(fmt::format("pass '{}' failed: {}", step.name, short_torch_message(e.what())));
    }
    record.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    result.records.push_back(std::move(record));
  }
  return result;
}

}  // namespace mopt
