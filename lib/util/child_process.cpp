#include "lib/util/child_process.h"

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
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
  // A terminating signal waits until the child is registered to be ended with this process (the
  // child may already be writing its log before posix_spawn returns); the child starts unblocked.
  sigset_t terminating, previous;
  sigemptyset(&terminating);
  for (int signal_number : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&terminating, signal_number);
  pthread_sigmask(SIG_BLOCK, &terminating, &previous);
  posix_spawnattr_t attributes;
  posix_spawnattr_init(&attributes);
  posix_spawnattr_setsigmask(&attributes, &previous);
  posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSIGMASK);
  pid_t pid = 0;
  const bool search_path = argv[0].find('/') == std::string::npos;
  int rc = search_path ? posix_spawnp(&pid, args[0], &actions, &attributes, args.data(), environ)
                       : posix_spawn(&pid, args[0], &actions, &attributes, args.data(), environ);
  posix_spawnattr_destroy(&attributes);
  posix_spawn_file_actions_destroy(&actions);
  ChildEndedOnSignal ended_with_us(rc == 0 ? pid : 0);
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  if (rc != 0) throw runtime_failure(fmt::format("cannot start '{}': {}", argv[0], std::strerror(rc)));

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
