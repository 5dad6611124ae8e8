#include "lib/batch/batch_workflow.h"

#include <fmt/format.h>

#include <fstream>

#include "lib/batch/batch_outputs.h"
#include "lib/batch/job_state.h"
#include "lib/batch/manifest.h"
#include "lib/batch/runner.h"
#include "lib/errors.h"
#include "lib/measure/cpu_info.h"
#include "lib/report/report.h"
#include "lib/util/atomic_file.h"
#include "lib/util/log.h"
#include "lib/util/progress_line.h"
#include "lib/util/strings.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace mopt::batch {
namespace {

std::string shard_suffix(const Shard& shard) {
  return shard.count > 1 ? fmt::format(".shard-{}-of-{}", shard.index, shard.count) : "";
}

// The batch report: the common report with the batch section under details.batch (which names the
// manifest and its sha256: inputs[] describes model files); every job's gates are the batch's
// gates; a job that did not finish is the batch's error.
void write_batch_report(const fs::path& path, const json& batch, const std::vector<std::string>& argv) {
  Report report("batch", argv);
  for (const auto& row : batch["jobs"]) {
    if (row["output_sha256"].is_string() && fs::is_regular_file(row["output"].get<std::string>())) {
      report.add_output(row["output"].get<std::string>());
    }
    for (const auto& gate : row["gates"]) {
      report.add_gate(fmt::format("{}: {}", row["id"].get<std::string>(), gate["name"].get<std::string>()), gate["expression"],
                      gate["passed"], nullptr, gate["detail"]);
    }
  }
  report.metrics() = {{"jobs", batch["counts"]}};
  report.details()["batch"] = batch;
  int code = batch["exit_code"].get<int>();
  if (code != 0 && code != 3) {
    std::vector<std::string> bad;
    for (const auto& row : batch["jobs"]) {
      const auto status = row["status"].get<std::string>();
      if (status != "ok" && status != "gate-failed") bad.push_back(fmt::format("{} ({})", row["id"].get<std::string>(), status));
    }
    report.set_error(code, fmt::format("{} job(s) did not finish: {}", bad.size(), fmt::join(bad, ", ")));
  }
  report.write(path);
}

void write_outputs(const BatchOutcome& outcome, const std::vector<std::string>& argv, const std::string& title) {
  if (!outcome.report.empty()) write_batch_report(outcome.report, outcome.batch, argv);
  if (!outcome.junit.empty()) write_text_atomically(outcome.junit, batch_junit_xml(outcome.batch["jobs"]));
  if (!outcome.markdown.empty()) write_text_atomically(outcome.markdown, batch_markdown(outcome.batch["jobs"], outcome.exit_code, title));
}

std::string progress_text(const BatchProgress& p) {
  return fmt::format("{}/{} done, {} failed, {} running, ETA {}", p.finished, p.total, p.failed, p.running,
                     p.eta_s < 0 ? "?" : format_duration(p.eta_s));
}

}  // namespace

int default_threads_per_job(int cores, int workers) { return std::max(1, cores / std::max(1, workers)); }

BatchOutcome run_batch(const BatchOptions& options) {
  if (options.workers < 1) throw usage_error("--jobs must be at least 1");
  Manifest manifest = load_manifest(options.manifest);
  const Shard shard = options.shard.value_or(Shard{});
  std::vector<JobSpec> jobs;
  for (const auto& job : manifest.jobs) {
    if (!in_shard(job.position, shard)) continue;
    if (!options.only.empty() && !glob_matches(options.only, job.id)) continue;
    jobs.push_back(job);
  }
  if (!options.only.empty() && jobs.empty()) throw usage_error(fmt::format("--only '{}' matches no job id of this shard", options.only));

  RunnerSettings settings;
  settings.workers = options.workers;
  settings.threads_per_job = options.threads > 0 ? options.threads : default_threads_per_job(cpu_info().logical_cores, options.workers);
  settings.force = options.force;
  settings.base_dir = manifest.base_dir;
  settings.out_dir = options.out_dir.empty() ? manifest.base_dir / (manifest.path.stem().string() + ".batch") : fs::absolute(options.out_dir);
  fs::create_directories(settings.out_dir);
  log_info("batch: {} of {} job(s){}, {} at a time, {} thread(s) each; state in {}", jobs.size(), manifest.jobs.size(),
           shard.count > 1 ? fmt::format(" (shard {}/{})", shard.index, shard.count) : "", settings.workers, settings.threads_per_job,
           settings.out_dir.string());

  ProgressLine live;
  settings.on_finished = [&](const JobSpec& job, const JobResult& r, const BatchProgress& p) {
    std::string what = r.cached ? "cached" : fmt::format("exit {}", r.exit_code);
    live.finish(fmt::format("[{}/{}] {:<13} {}  ({}, {:.1f} s)", p.finished, p.total, r.status, job.id, what, r.duration_s));
    if (p.finished < p.total) live.update(progress_text(p));
  };
  settings.on_tick = [&](const BatchProgress& p) { live.update(progress_text(p)); };
  auto results = run_jobs(jobs, settings);

  BatchOutcome outcome;
  json rows = json::array();
  bool interrupted = false;
  for (size_t i = 0; i < jobs.size(); ++i) {
    rows.push_back(job_row(jobs[i], results[i], job_paths(settings.out_dir, jobs[i].id)));
    interrupted = interrupted || results[i].status == "not-run" || results[i].status == "interrupted";
  }
  outcome.exit_code = batch_exit_code(rows);
  outcome.batch = {{"manifest", manifest.path.string()},
                   {"manifest_sha256", manifest.sha256},
                   {"out_dir", settings.out_dir.string()},
                   {"shard", {{"index", shard.index}, {"count", shard.count}}},
                   {"only", options.only},
                   {"workers", settings.workers},
                   {"threads_per_job", settings.threads_per_job},
                   {"total_jobs", manifest.jobs.size()},
                   {"selected_jobs", jobs.size()},
                   {"interrupted", interrupted},
                   {"counts", status_counts(rows)},
                   {"exit_code", outcome.exit_code},
                   {"exit_code_order", kExitCodeOrder},
                   {"jobs", rows}};
  const std::string suffix = shard_suffix(shard);
  outcome.report = options.report.empty() ? settings.out_dir / ("batch-report" + suffix + ".json") : options.report;
  outcome.junit = options.junit.empty() ? settings.out_dir / ("junit" + suffix + ".xml") : options.junit;
  outcome.markdown = options.markdown.empty() ? settings.out_dir / ("summary" + suffix + ".md") : options.markdown;
  write_outputs(outcome, options.argv,
                fmt::format("mopt batch {}{}", manifest.path.filename().string(),
                            shard.count > 1 ? fmt::format(" (shard {}/{})", shard.index, shard.count) : ""));
  return outcome;
}

BatchOutcome merge_batches(const std::vector<fs::path>& reports, const fs::path& report, const fs::path& junit,
                           const fs::path& markdown, const std::vector<std::string>& argv) {
  std::vector<json> docs;
  std::vector<std::string> names;
  for (const auto& path : reports) {
    std::ifstream in(path);
    if (!in) throw invalid_input(fmt::format("cannot read batch report '{}'", path.string()));
    try {
      docs.push_back(json::parse(in));
    } catch (const json::exception& e) {
      throw invalid_input(fmt::format("'{}' is not JSON: {}", path.string(), e.what()));
    }
    names.push_back(path.string());
  }
  BatchOutcome outcome;
  outcome.batch = merge_batch_details(docs, names);
  outcome.exit_code = outcome.batch["exit_code"].get<int>();
  outcome.report = report;
  outcome.junit = junit;
  outcome.markdown = markdown;
  write_outputs(outcome, argv,
                fmt::format("mopt batch {} (merged from {} shard reports)", fs::path(outcome.batch["manifest"].get<std::string>()).filename().string(),
                            reports.size()));
  return outcome;
}

}  // namespace mopt::batch
