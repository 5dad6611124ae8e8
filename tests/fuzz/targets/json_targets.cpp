// JSON files users pass in: device profiles (--profile FILE), reports used as --baseline, batch
// manifests. A bad file is invalid_input (exit 4) naming it; nothing else may escape.
#include "lib/batch/manifest.h"
#include "lib/bench/regression.h"
#include "lib/measure/gates.h"
#include "lib/pipeline/pipeline.h"
#include "lib/profiles/profile.h"
#include "lib/report/read_report.h"
#include "passes/register_all_passes.h"
#include "tests/fuzz/fuzz_target.h"
#include "tests/fuzz/targets/fixture_metrics.h"
#include "tests/fuzz/targets/targets.h"

namespace mopt::fuzz {

std::string run_profile(const uint8_t* data, size_t size) {
  static const PassRegistry registry = make_default_registry();
  auto path = write_scratch_file("profile.json", data, size);
  std::optional<Profile> profile;
  auto finding = refusals_only([&] { profile = load_profile(path.string()); }, {ExitCode::kInvalidInput}, path);
  if (!finding.empty() || !profile) return finding;
  // What compile and bench do with a loaded profile: run its pipeline, gate on its budgets.
  // An unknown pass in compile_pipeline: `mopt compile` turns it into invalid input naming the profile.
  finding = refusals_only([&] { validate_pipeline(parse_pipeline(profile->compile_pipeline), registry); },
                          {ExitCode::kUsage, ExitCode::kInvalidInput});
  if (!finding.empty()) return finding;
  return refusals_only(
      [&] {
        for (const auto& text : budget_gates(*profile)) parse_gate(text);
      },
      {});
}

std::string run_baseline_report(const uint8_t* data, size_t size) {
  auto path = write_scratch_file("baseline.json", data, size);
  const auto& candidate = fixture_report();
  return refusals_only(
      [&] {
        auto baseline = read_report(path);
        for (const char* rule : {"latency.p50_ms=5%", "latency.p95_ms=10", "accuracy.top1=0.5pt",
                                 "throughput.samples_per_s=3%", "memory.peak_mb=10", "model.file_mb=1"}) {
          check_regressions(parse_regression(rule), baseline["metrics"], candidate["metrics"]);
        }
        render_comparison(compare_reports(baseline, candidate));  // `mopt bench compare OLD NEW`
        render_comparison(compare_reports(candidate, baseline));
      },
      {ExitCode::kInvalidInput}, path);
}

namespace {

std::string run_manifest_file(const std::string& name, const uint8_t* data, size_t size) {
  // A model for the manifest's paths and globs to find, next to it (relative paths resolve there).
  static const uint8_t kModelBytes[] = {'P', 'K', 3, 4};
  static const bool model_written = (write_scratch_file("model.pt", kModelBytes, sizeof kModelBytes), true);
  (void)model_written;
  auto path = write_scratch_file(name, data, size);
  return refusals_only([&] { batch::load_manifest(path); }, {ExitCode::kInvalidInput}, path);
}

}  // namespace

std::string run_manifest(const uint8_t* data, size_t size) { return run_manifest_file("manifest.json", data, size); }

std::string run_manifest_yaml(const uint8_t* data, size_t size) { return run_manifest_file("manifest.yaml", data, size); }

}  // namespace mopt::fuzz
