#pragma once
// What a batch leaves for people and CI: one row per job (status, exit, artifact, figures from the
// job's own report, its gates), the batch exit code, a summary table, JUnit XML (one test case per
// job and per gate) and a Markdown summary; and the merge of shard reports.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "lib/batch/job_state.h"
#include "lib/batch/manifest.h"
#include "lib/batch/runner.h"

namespace mopt::batch {

/// The order in which job outcomes decide the batch's exit code, worst first (docs/guide.md "Batch conversion").
inline constexpr const char* kExitCodeOrder = "130 > 1 > 4 > 3 > 0";

/// A job's row: identity, status, exit, duration, artifact size/sha256, and from the job's report
/// latency p50 and top-1 accuracy before/after (null when the report has none), gates, and a one-line message.
nlohmann::json job_row(const JobSpec& job, const JobResult& result, const JobPaths& paths);

/// The batch exit code of rows: the worst by kExitCodeOrder. 130: interrupted or not run;
/// 1: a job failed, crashed or timed out (a retry may help); 4: invalid input or flags (a retry
/// will not help); 3: only gates failed; 0: all ok.
int batch_exit_code(const nlohmann::json& rows);

/// Jobs per status, plus "cached" and "total".
nlohmann::json status_counts(const nlohmann::json& rows);

/// Fixed-width table: job, status, exit, size, p50 before/after, top-1 before/after, time.
std::string summary_table(const nlohmann::json& rows);

/// JUnit XML: one <testcase> per job (gate failure -> <failure>, other failures -> <error>, not run
/// -> <skipped>) and one per gate of each job's report (classname mopt.batch.JOB).
std::string batch_junit_xml(const nlohmann::json& rows, const std::string& suite_name = "mopt.batch");

/// GitHub-flavoured Markdown: a headline with the counts and exit code, the table, and what failed.
std::string batch_markdown(const nlohmann::json& rows, int exit_code, const std::string& title);

/// Combines the `details.batch` sections of shard reports of one manifest: same manifest sha256 and
/// shard count, every shard present once. Violations -> invalid_input. Returns the merged section.
nlohmann::json merge_batch_details(const std::vector<nlohmann::json>& reports, const std::vector<std::string>& names);

}  // namespace mopt::batch
