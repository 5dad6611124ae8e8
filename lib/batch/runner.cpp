#include "lib/batch/runner.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/format.h>

#include <chrono>
#include <map>
#include <thread>

#include "lib/batch/job_state.h"
#include "lib/errors.h"
#include "lib/train/interrupt.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace mopt::batch {
namespace {

struct Running {
  size_t index = 0;
  Clock::time_point started;
  bool timed_out = false;
  bool interrupted = false;
  Clock::time_point kill_after;  ///< SIGKILL when SIGTERM was not enough
};

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Forks and execs one job. Everything the child touches is prepared before fork(): between fork
// and exec only async-signal-safe calls are allowed in a process that may have threads.
pid_t spawn(const JobSpec& job, const JobPaths& paths, const RunnerSettings& settings) {
  std::vector<std::string> argv = {"mopt"};
  argv.insert(argv.end(), job.args.begin(), job.args.end());
  argv.insert(argv.end(), {"--report", paths.report.string()});
  if (!job.threads_given) argv.insert(argv.end(), {"--threads", std::to_string(settings.threads_per_job)});
  std::vector<char*> c_argv;
  for (auto& a : argv) c_argv.push_back(a.data());
  c_argv.push_back(nullptr);
  const std::string exe = settings.executable.string(), dir = settings.base_dir.string(),
                    out = paths.stdout_log.string(), err = paths.stderr_log.string();
  const pid_t parent = getpid();

  pid_t pid = fork();
  if (pid < 0) throw runtime_failure(fmt::format("cannot start job {}: fork failed", job.id));
  if (pid == 0) {
    setpgid(0, 0);  // its own group: a terminal's Ctrl-C reaches the batch, which forwards it once
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(1);
    int in_fd = open("/dev/null", O_RDONLY);
    int out_fd = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err_fd = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (in_fd < 0 || out_fd < 0 || err_fd < 0) _exit(1);
    dup2(in_fd, 0);
    dup2(out_fd, 1);
    dup2(err_fd, 2);
    if (chdir(dir.c_str()) != 0) {
      const char message[] = "mopt batch: cannot enter the manifest's folder\n";
      (void)!write(2, message, sizeof(message) - 1);
      _exit(1);
    }
    execv(exe.c_str(), c_argv.data());
    const char message[] = "mopt batch: cannot execute mopt\n";
    (void)!write(2, message, sizeof(message) - 1);
    _exit(127);
  }
  setpgid(pid, pid);  // also here, so a signal sent right after fork finds the group
  return pid;
}

JobResult finish(const JobSpec& job, const JobPaths& paths, const Running& run, int wait_status, const std::string& key) {
  JobResult result;
  result.key = key;
  result.duration_s = seconds_since(run.started);
  if (WIFEXITED(wait_status)) {
    result.exit_code = WEXITSTATUS(wait_status);
    result.status = status_of_exit(result.exit_code);
  } else {
    result.signal = WIFSIGNALED(wait_status) ? WTERMSIG(wait_status) : 0;
    result.exit_code = 128 + result.signal;
    result.status = "crashed";
    result.message = fmt::format("killed by signal {} ({})", result.signal, strsignal(result.signal));
  }
  if (run.timed_out) {
    result.status = "timeout";
    result.message = fmt::format("stopped after the job's timeout_s ({:.0f} s)", job.timeout_s);
  } else if (run.interrupted && result.exit_code != 0 && result.exit_code != 3) {
    result.status = "interrupted";
  }
  std::error_code ec;
  if (result.exit_code == 0 && !job.output.empty() && !fs::is_regular_file(job.output, ec)) {
    result.status = "failed";
    result.message = fmt::format("exited 0 but {} does not exist", job.output.string());
  }
  if ((result.status == "ok" || result.status == "gate-failed") && !run.timed_out) {
    record_done(paths, job, key, result.exit_code, result.duration_s);
  }
  return result;
}

bool counts_as_failed(const JobResult& r) { return r.status != "ok" && r.status != "not-run"; }

}  // namespace

std::string status_of_exit(int exit_code) {
  switch (exit_code) {
    case 0: return "ok";
    case 2: return "usage-error";
    case 3: return "gate-failed";
    case 4: return "invalid-input";
    case 130: return "interrupted";
    default: return "failed";
  }
}

std::vector<JobResult> run_jobs(const std::vector<JobSpec>& jobs, const RunnerSettings& settings) {
  std::vector<JobResult> results(jobs.size());
  std::vector<std::string> keys(jobs.size());
  std::map<pid_t, Running> running;
  BatchProgress progress;
  progress.total = jobs.size();
  const auto started = Clock::now();
  double run_seconds = 0;  // summed wall time of the jobs that ran (for the ETA)
  size_t ran = 0, next = 0;
  bool interrupting = false;

  train::ScopedInterruptHandler interrupt_handler;
  train::clear_interrupt();

  auto update_progress = [&] {
    progress.elapsed_s = seconds_since(started);
    progress.running = running.size();
    size_t left = progress.total - progress.finished;
    progress.eta_s = ran == 0 ? -1 : run_seconds / static_cast<double>(ran) * static_cast<double>(left) / settings.workers;
  };
  auto finished = [&](size_t index) {
    ++progress.finished;
    if (counts_as_failed(results[index])) ++progress.failed;
    if (results[index].cached) ++progress.cached;
    update_progress();
    if (settings.on_finished) settings.on_finished(jobs[index], results[index], progress);
  };

  while ((!interrupting && next < jobs.size()) || !running.empty()) {
    if (train::interrupt_requested() && !interrupting) {
      interrupting = true;
      for (auto& [pid, run] : running) {
        run.interrupted = true;
        run.kill_after = Clock::now() + std::chrono::seconds(30);
        kill(-pid, SIGTERM);
      }
    }
    while (!interrupting && next < jobs.size() && static_cast<int>(running.size()) < settings.workers) {
      const size_t index = next++;
      const JobSpec& job = jobs[index];
      const JobPaths paths = job_paths(settings.out_dir, job.id);
      keys[index] = job_key(job, settings.base_dir);
      if (!settings.force) {
        auto record = done_record(paths, keys[index]);
        if (!record.is_null()) {
          JobResult& r = results[index];
          r.key = keys[index];
          r.cached = true;
          r.exit_code = record["exit_code"].get<int>();
          r.status = status_of_exit(r.exit_code);
          r.duration_s = record.value("duration_s", 0.0);
          finished(index);
          continue;
        }
      }
      fs::create_directories(paths.dir);
      // Output templates name folders ("out/{stem}.pt"); mopt itself writes only into existing ones.
      if (!job.output.empty()) fs::create_directories(job.output.parent_path());
      clear_job(paths);
      pid_t pid = spawn(job, paths, settings);
      running[pid] = {index, Clock::now(), false, false, Clock::time_point::max()};
    }
    if (running.empty()) continue;

    // Peek first (WNOWAIT): while the exited child is a zombie its group id cannot be reused, so
    // whatever it left behind in its group (an ONNX Runtime helper) can be killed safely.
    siginfo_t info{};
    info.si_pid = 0;
    if (waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid > 0) {
      const pid_t pid = info.si_pid;
      if (!running.count(pid)) {  // not one of ours: reap it and go on
        waitpid(pid, nullptr, 0);
        continue;
      }
      kill(-pid, SIGKILL);
      int status = 0;
      waitpid(pid, &status, 0);
      Running run = running[pid];
      running.erase(pid);
      const JobSpec& job = jobs[run.index];
      results[run.index] = finish(job, job_paths(settings.out_dir, job.id), run, status, keys[run.index]);
      run_seconds += results[run.index].duration_s;
      ++ran;
      finished(run.index);
      continue;
    }
    for (auto& [child, run] : running) {
      const JobSpec& job = jobs[run.index];
      if (!run.timed_out && job.timeout_s > 0 && seconds_since(run.started) > job.timeout_s) {
        run.timed_out = true;
        run.kill_after = Clock::now() + std::chrono::seconds(10);
        kill(-child, SIGTERM);
      } else if (Clock::now() > run.kill_after) {
        kill(-child, SIGKILL);
      }
    }
    update_progress();
    if (settings.on_tick) settings.on_tick(progress);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (results[i].key.empty()) results[i].key = keys[i].empty() ? job_key(jobs[i], settings.base_dir) : keys[i];
  }
  return results;
}

}  // namespace mopt::batch
