#pragma once
// Runs another program (usually mopt itself) as a child process without a shell, its stdout and
// stderr captured in a file, so a measurement can happen in a fresh process as a user would run it.
#include <filesystem>
#include <string>
#include <vector>

namespace mopt {

/// How a child ended: `exit_code` when it exited, else the signal that killed it.
struct ChildOutcome {
  int exit_code = -1;
  int signal = 0;
  std::string output_tail;  ///< last lines of its stdout+stderr, for error messages
};

/// Runs argv[0] with argv (found on PATH when it has no slash), stdin from /dev/null, stdout and
/// stderr appended to `log_file`; waits for it. Throws runtime_failure if it cannot be started.
ChildOutcome run_child(const std::vector<std::string>& argv, const std::filesystem::path& log_file);

/// The running executable (/proc/self/exe), for re-executing mopt.
std::filesystem::path self_executable();

}  // namespace mopt
