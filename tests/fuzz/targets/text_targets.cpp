// Flag texts: pipelines (-p, and profiles' compile_pipeline), --input-shape, --fail-if and
// --max-regression. A malformed text is a usage error (exit 2); nothing else may escape.
#include <fmt/format.h>

#include "lib/bench/regression.h"
#include "lib/data/dataset.h"
#include "lib/measure/gates.h"
#include "lib/pipeline/pipeline.h"
#include "passes/register_all_passes.h"
#include "tests/fuzz/fuzz_target.h"
#include "tests/fuzz/targets/fixture_metrics.h"
#include "tests/fuzz/targets/targets.h"

namespace mopt::fuzz {
namespace {

std::string as_text(const uint8_t* data, size_t size) { return std::string(reinterpret_cast<const char*>(data), size); }

}  // namespace

std::string run_pipeline_text(const uint8_t* data, size_t size) {
  static const PassRegistry registry = make_default_registry();
  const auto text = as_text(data, size);
  std::string broken_round_trip;
  auto finding = refusals_only(
      [&] {
        auto pipeline = parse_pipeline(text);
        auto printed = print_pipeline(pipeline);
        // docs/design.md: the text form round-trips; a printed pipeline that reads back differently
        // would make --print-pipeline lie.
        if (!(parse_pipeline(printed) == pipeline) || print_pipeline(parse_pipeline(printed)) != printed) {
          broken_round_trip = fmt::format("round trip changed the pipeline: '{}' printed as '{}'", text, printed);
          return;
        }
        validate_pipeline(pipeline, registry);
      },
      {ExitCode::kUsage});
  return finding.empty() ? broken_round_trip : finding;
}

std::string run_input_spec(const uint8_t* data, size_t size) {
  const auto text = as_text(data, size);
  return refusals_only(
      [&] {
        auto spec = parse_input_spec(text);
        // Drawing the tensor is what bench does next; only small ones, the fuzzer is not a load test.
        int64_t elements = 1;
        for (auto d : spec.shape) {
          if (d > (int64_t{1} << 16) || elements > (int64_t{1} << 16) / d) return;
          elements *= d;
        }
        synthetic_input(spec, 0);
      },
      {ExitCode::kUsage});
}

std::string run_gate(const uint8_t* data, size_t size) {
  const auto text = as_text(data, size);
  const auto& metrics = fixture_report()["metrics"];
  auto finding = refusals_only([&] { evaluate_fail_if(parse_gate(text), metrics); }, {ExitCode::kUsage});
  if (!finding.empty()) return finding;
  return refusals_only([&] { check_regressions(parse_regression(text), metrics, metrics); }, {ExitCode::kUsage});
}

}  // namespace mopt::fuzz
