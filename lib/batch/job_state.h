#pragma once
// What makes a batch resumable: a key per job (its inputs' bytes, its resolved arguments and
// mopt's version) and a done record per job, written atomically after the child finished, that
// names the files it produced with their sha256. A job counts as done only while its record's key
// matches and every recorded file still has the recorded hash, so a half-written artifact (or one
// deleted or changed since) is never taken as done.
#include <nlohmann/json.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include "lib/batch/manifest.h"

namespace mopt::batch {

/// Where a job keeps its report, logs and done record: OUT_DIR/jobs/ID/.
struct JobPaths {
  std::filesystem::path dir, report, stdout_log, stderr_log, done;
};
/// The folder and file names of job `id` under `out_dir`.
JobPaths job_paths(const std::filesystem::path& out_dir, const std::string& id);

/// Files a job reads: its model and every flag value that names an existing regular file (teacher,
/// calibration .npy, profile .json, baseline report...), resolved against `base_dir`. Folders
/// (dataset directories) are not hashed: change a dataset in place and rerun with --force.
std::vector<std::filesystem::path> job_input_files(const JobSpec& job, const std::filesystem::path& base_dir);

/// Hex sha256 over mopt's version, the command and resolved arguments (output path included;
/// the --threads batch picks is not: it changes timings, not artifacts) and each input file's
/// path and sha256 (a missing file counts as "missing").
std::string job_key(const JobSpec& job, const std::filesystem::path& base_dir);

/// Records completion atomically: only for exit 0 or 3, with the sha256 of the artifact (when it
/// exists) and of the job's report. Returns the record written.
nlohmann::json record_done(const JobPaths& paths, const JobSpec& job, const std::string& key, int exit_code,
                           double duration_s);

/// The done record when the job finished with this key and its recorded files are intact; null otherwise.
nlohmann::json done_record(const JobPaths& paths, const std::string& key);

/// Forgets a job's previous run (done record and report) before it runs again.
void clear_job(const JobPaths& paths);

}  // namespace mopt::batch
