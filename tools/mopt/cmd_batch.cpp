// mopt batch MANIFEST: many jobs from one manifest, in worker processes, resumable and shardable;
// mopt batch merge: the shards' batch reports as one.
#include <fmt/format.h>

#include "lib/batch/batch_outputs.h"
#include "lib/batch/batch_workflow.h"
#include "lib/batch/manifest.h"
#include "lib/batch/shard.h"
#include "lib/errors.h"
#include "lib/util/log.h"
#include "tools/mopt/commands.h"

namespace mopt::cli {
namespace {

struct BatchArgs {
  std::string manifest;
  std::string out_dir;
  int jobs = 1;
  int threads = 0;
  bool force = false;
  std::string shard;
  int shard_count = 0;
  std::string only;
  std::string report, junit, markdown;
  bool quiet = false, verbose = false, print_schema = false;
};

struct MergeArgs {
  std::vector<std::string> reports;
  std::string report, junit, markdown;
  bool quiet = false;
};

const char* kBatchExitCodes =
    "Exit codes: the worst job outcome wins, in this order: 130 > 1 > 4 > 3 > 0\n"
    "  130  interrupted (Ctrl-C/SIGTERM): jobs not run; rerun the same command to resume\n"
    "    1  a job failed, crashed or timed out (a retry may help: done jobs are skipped)\n"
    "    4  a job's input or flags are invalid (exit 2 or 4 in its row; a retry will not help),\n"
    "       or the manifest itself is invalid\n"
    "    3  every job ran, some gate failed\n"
    "    0  every job ok\n"
    "    2  usage error of mopt batch itself";

void say_outcome(const batch::BatchOutcome& outcome) {
  say("{}", batch::summary_table(outcome.batch["jobs"]));
  const auto& counts = outcome.batch["counts"];
  say("{} job(s): {} ok ({} cached), {} gate-failed, {} not ok; exit {}", counts["total"].get<int>(), counts["ok"].get<int>(),
      counts["cached"].get<int>(), counts["gate-failed"].get<int>(),
      counts["total"].get<int>() - counts["ok"].get<int>() - counts["gate-failed"].get<int>(), outcome.exit_code);
  if (!outcome.report.empty()) say("batch report: {}", outcome.report.string());
  if (!outcome.junit.empty()) say("junit: {}", outcome.junit.string());
  if (!outcome.markdown.empty()) say("summary: {}", outcome.markdown.string());
}

// An exit code other than 0 leaves main() as an Error; the outcome was already printed.
void exit_with(int code) {
  if (code != 0) throw Error(static_cast<ExitCode>(code), fmt::format("batch exit {} (see the table above)", code));
}

void run_batch_command(const BatchArgs& args) {
  set_verbosity(args.quiet ? Verbosity::kQuiet : (args.verbose ? Verbosity::kVerbose : Verbosity::kNormal));
  if (args.print_schema) {
    fmt::print("{}", batch::manifest_schema_text());
    return;
  }
  if (args.manifest.empty()) throw usage_error("batch needs a MANIFEST (or `mopt batch merge REPORT...`)");
  batch::BatchOptions options;
  options.manifest = args.manifest;
  options.out_dir = args.out_dir;
  options.workers = args.jobs;
  options.threads = args.threads;
  options.force = args.force;
  options.only = args.only;
  options.report = args.report;
  options.junit = args.junit;
  options.markdown = args.markdown;
  options.argv = process_argv();
  if (!args.shard.empty()) {
    if (args.shard_count > 0) throw usage_error("give --shard I/N or --shard-count N, not both");
    options.shard = batch::parse_shard(args.shard);
  } else {
    options.shard = batch::shard_from_environment(args.shard_count);
  }
  auto outcome = batch::run_batch(options);
  say_outcome(outcome);
  exit_with(outcome.exit_code);
}

void run_merge_command(const MergeArgs& args) {
  set_verbosity(args.quiet ? Verbosity::kQuiet : Verbosity::kNormal);
  std::vector<std::filesystem::path> paths(args.reports.begin(), args.reports.end());
  auto outcome = batch::merge_batches(paths, args.report, args.junit, args.markdown, process_argv());
  say_outcome(outcome);
  exit_with(outcome.exit_code);
}

}  // namespace

void setup_batch(CLI::App& app) {
  auto args = std::make_shared<BatchArgs>();
  auto* cmd = app.add_subcommand("batch", "run a manifest of jobs in worker processes: cached, resumable, shardable");
  cmd->add_option("MANIFEST", args->manifest, "JSON manifest of jobs (see --print-schema and docs/guide.md \"Batch conversion\")");
  cmd->add_option("-j,--jobs", args->jobs, "jobs run at once, each in its own process (default 1)")->check(CLI::PositiveNumber);
  cmd->add_option("--threads", args->threads, "threads per job unless its flags set --threads (default: cores / --jobs)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--out-dir", args->out_dir, "where job logs, reports and state go (default: MANIFEST_DIR/MANIFEST_STEM.batch)")
      ->type_name("DIR");
  cmd->add_flag("--force", args->force, "rerun jobs that are done (same key: same inputs, flags, mopt version)");
  cmd->add_option("--shard", args->shard, "run shard I of N (jobs at manifest positions p with p % N == I)")->type_name("I/N");
  cmd->add_option("--shard-count", args->shard_count,
                  "N shards, the index from SLURM_ARRAY_TASK_ID or JOB_COMPLETION_INDEX (Slurm's own count is read when set)")
      ->check(CLI::PositiveNumber)->type_name("N");
  cmd->add_option("--only", args->only, "run only the jobs whose id matches this glob")->type_name("GLOB");
  cmd->add_option("--report", args->report, "batch report (default: OUT_DIR/batch-report[.shard-I-of-N].json)")->type_name("FILE");
  cmd->add_option("--junit", args->junit, "JUnit XML (default: OUT_DIR/junit[.shard-I-of-N].xml)")->type_name("FILE");
  cmd->add_option("--markdown", args->markdown, "Markdown summary (default: OUT_DIR/summary[.shard-I-of-N].md)")->type_name("FILE");
  cmd->add_flag("--print-schema", args->print_schema, "print the manifest's JSON schema and exit");
  cmd->add_flag("-q,--quiet", args->quiet, "print nothing (reports are still written)");
  cmd->add_flag("-v,--verbose", args->verbose, "print details on stderr");
  cmd->footer(std::string(
                  "Manifest (paths relative to its folder, where jobs run):\n"
                  "  {\"defaults\": {\"command\": \"quantize\", \"output\": \"out/{stem}.int8.pt\",\n"
                  "                \"flags\": {\"calib\": \"/usr/share/datasets/fashion-mnist\", \"iterations\": 20}},\n"
                  "   \"jobs\": [{\"model\": \"models/*.pt\"},\n"
                  "            {\"model\": \"cnn.pt\", \"command\": \"bench\", \"flags\": {\"input-shape\": \"1x1x28x28\",\n"
                  "             \"fail-if\": [\"latency.p95_ms > 5\"], \"calib\": null}}]}\n"
                  "  Output/name templates: {stem} {ext} {dir} {name} {command} {profile} {index}\n\n"
                  "Examples:\n"
                  "  mopt batch models.json --jobs 2                  # run; a second run skips what is done\n"
                  "  mopt batch models.json --force --only 'resnet*'  # rerun some jobs\n"
                  "  mopt batch models.json --shard 0/4               # one of 4 nodes\n"
                  "  mopt batch models.json --shard-count 4           # index from SLURM_ARRAY_TASK_ID / JOB_COMPLETION_INDEX\n"
                  "  mopt batch merge out/batch-report.shard-*.json --report all.json --junit all.xml\n\n") +
              kBatchExitCodes);
  cmd->callback([args, cmd] {
    if (cmd->got_subcommand("merge")) return;
    run_batch_command(*args);
  });

  auto merge_args = std::make_shared<MergeArgs>();
  auto* merge = cmd->add_subcommand("merge", "combine the shards' batch reports; exit code as for the whole batch");
  merge->add_option("REPORTS", merge_args->reports, "every shard's batch report")->required();
  merge->add_option("--report", merge_args->report, "write the merged batch report")->type_name("FILE");
  merge->add_option("--junit", merge_args->junit, "write the merged JUnit XML")->type_name("FILE");
  merge->add_option("--markdown", merge_args->markdown, "write the merged Markdown summary")->type_name("FILE");
  merge->add_flag("-q,--quiet", merge_args->quiet, "print nothing");
  merge->footer(std::string("Examples:\n"
                            "  mopt batch merge a/batch-report.shard-0-of-2.json b/batch-report.shard-1-of-2.json --report all.json\n\n") +
                kBatchExitCodes);
  merge->callback([merge_args] { run_merge_command(*merge_args); });
}

}  // namespace mopt::cli
