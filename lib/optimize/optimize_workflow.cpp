#include "lib/optimize/optimize_workflow.h"

#include <filesystem>

#include "lib/errors.h"
#include "lib/onnx/export/onnx_exporter.h"
#include "lib/onnx/import/onnx_importer.h"
#include "lib/util/log.h"

namespace mopt::optimize {

OptimizeOutcome run_optimize(const OptimizeRequest& request, const PassRegistry& registry, Report& report) {
  const bool onnx_out = std::filesystem::path(request.output).extension() == ".onnx";
  OptimizeOutcome outcome;
  outcome.input = Model::load(request.model);
  report.add_input(request.model, &outcome.input);
  const bool convert = outcome.input.is_onnx() != onnx_out;
  if (outcome.input.is_onnx() && !onnx_out) {
    log_info("importing ONNX model {} ...", request.model);
    outcome.input = to_torchscript(outcome.input);  // TorchScript passes follow the import
  }
  if (request.pipeline.steps.empty() && !convert) {
    throw usage_error("give a pipeline with -p, or an output format to convert to (model.onnx -o model.pt)");
  }
  const auto data = request.load_data();  // bad data fails before any pass runs
  const auto calibration = request.load_calibration();
  PassContext context;
  context.log = [](const std::string& line) { log_info("{}", line); };
  if (calibration) context.calibration = &*calibration;

  auto result = run_pipeline(outcome.input, request.pipeline, registry, [](size_t i, size_t n, const std::string& step) {
    log_info("[{}/{}] {}", i + 1, n, step);
  }, context);
  report.set_pipeline(print_pipeline(request.pipeline), result.records);
  for (const auto& r : result.records) log_verbose("  {:<28} {:>4} rewrites  {:.3f}s", r.invocation, r.stats.rewrites, r.seconds);
  if (onnx_out && result.model.is_torchscript()) {
    log_info("exporting to ONNX (opset {}) ...", request.opset);
    ExportOptions options;
    options.opset = request.opset;
    if (data) options.examples = data->input_rows(0, 1);  // else export_to_onnx says what to give
    result.model = Model::from_onnx(export_to_onnx(result.model, options));
  }
  if (data) {
    log_info("measuring before/after on {} ...", data->description);
    auto settings = request.comparison;
    settings.allocator_check = true;
    // Each side is run and timed where it runs (.onnx in ONNX Runtime), saved, in fresh processes.
    outcome.comparison = compare_models(as_given(request.model, outcome.input), result.model, *data, settings);
    report.metrics() = outcome.comparison;
  }
  result.model.save(request.output);
  report.add_output(request.output, &result.model);
  outcome.output = std::move(result.model);
  outcome.records = std::move(result.records);
  return outcome;
}

}  // namespace mopt::optimize
