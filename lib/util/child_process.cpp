#include "lib/util/child_process.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

#include <fmt/format.h>

#include "lib/errors.h"
#include "lib/util/removed_on_signal.h"

extern char** environ;

namespace mopt {
namespace fs = std::filesystem;

namespace {

std::string tail_of(const fs::path& file, size_t max_chars) {
  std::ifstream in(file);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text.size() > max_chars ? "..." + text.substr(text.size() - max_chars) : text;
}

}  // namespace

ChildOutcome run_child(const std::vector<std::string>& argv, const fs::path& log_file) {
  if (argv.empty()) throw runtime_failure("run_child: no program given");
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
  posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  pid_t pid = 0;
  const bool search_path = argv[0].find('/') == std::string::npos;
  int rc = search_path ? posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ)
                       : posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw runtime_failure(fmt::format("cannot start '{}': {}", argv[0], std::strerror(rc)));

  ChildEndedOnSignal ended_with_us(pid);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw runtime_failure(fmt::format("lost track of child '{}': {}", argv[0], std::strerror(errno)));
  }
  ChildOutcome outcome;
  if (WIFEXITED(status)) outcome.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) outcome.signal = WTERMSIG(status);
  outcome.output_tail = tail_of(log_file, 2000);
  return outcome;
}

fs::path self_executable() {
  std::error_code ec;
  auto exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) throw runtime_failure(fmt::format("cannot find the running executable (/proc/self/exe): {}", ec.message()));
  // Rebuilt or upgraded while running: the kernel reports "PATH (deleted)"; run what is at PATH now.
  const std::string kDeleted = " (deleted)";
  auto text = exe.string();
  if (text.size() > kDeleted.size() && text.compare(text.size() - kDeleted.size(), kDeleted.size(), kDeleted) == 0) {
    exe = text.substr(0, text.size() - kDeleted.size());
    if (!fs::exists(exe)) throw runtime_failure(fmt::format("the running executable {} was deleted; cannot re-execute it", exe.string()));
  }
  return exe;
}

}  // namespace mopt
