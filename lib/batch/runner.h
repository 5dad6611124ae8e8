#pragma once
// Runs batch jobs as child processes: each job re-executes mopt itself (/proc/self/exe) in the
// manifest's folder, in its own process group, stdout/stderr to log files, at most `workers` at a
// time. A job that fails or crashes affects only its own row. Ctrl-C or SIGTERM stops starting
// jobs, passes SIGTERM once to the running ones (distill saves a checkpoint), waits for them and
// returns; children die with the batch (PR_SET_PDEATHSIG) if it is killed outright.
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "lib/batch/manifest.h"

namespace mopt::batch {

/// How one job ended.
struct JobResult {
  std::string status = "not-run";  ///< ok, gate-failed, invalid-input, usage-error, failed, crashed, timeout, interrupted, not-run
  int exit_code = -1;              ///< the child's exit code; 128 + signal when a signal ended it; -1 not run
  int signal = 0;                  ///< the signal that ended it, 0 when it exited
  bool cached = false;             ///< skipped: done earlier with the same key
  double duration_s = 0;           ///< this run's wall time (a cached job: the recorded one)
  std::string key;                 ///< job_key()
  std::string message;             ///< why it is not ok, when the runner knows (timeout, no artifact)
};

/// The status word of a child's exit code (0 ok, 3 gate-failed, 4 invalid-input, 2 usage-error, 130 interrupted, else failed).
std::string status_of_exit(int exit_code);

/// Progress so far, for the per-job line and the live ETA line.
struct BatchProgress {
  size_t finished = 0, total = 0, failed = 0, cached = 0, running = 0;
  double elapsed_s = 0;
  double eta_s = -1;  ///< -1 until a job has run
};

/// How run_jobs runs: workers, threads per job, state folder, callbacks for progress.
struct RunnerSettings {
  int workers = 1;
  int threads_per_job = 1;  ///< --threads given to jobs whose flags do not set it
  bool force = false;       ///< rerun jobs that are done
  std::filesystem::path out_dir, base_dir;
  std::filesystem::path executable = "/proc/self/exe";
  std::function<void(const JobSpec&, const JobResult&, const BatchProgress&)> on_finished;
  std::function<void(const BatchProgress&)> on_tick;  ///< a few times a second while jobs run
};

/// Runs (or skips, when done) every job; results in the order of `jobs`. Jobs after an interrupt stay "not-run".
std::vector<JobResult> run_jobs(const std::vector<JobSpec>& jobs, const RunnerSettings& settings);

}  // namespace mopt::batch
