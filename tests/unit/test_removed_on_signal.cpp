// A terminating signal removes the scratch folders and temp files registered at that moment, and
// still ends the process with that signal; unregistered paths are left alone. Each case forks a
// child that plays the killed mopt process.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "lib/util/removed_on_signal.h"
#include "lib/util/scratch_dir.h"
#include "tests/unit/test_helpers.h"

namespace fs = std::filesystem;
using mopt::RemovedOnSignal;

namespace {

// Runs `body` in a child process, then raises `signal_number` there; returns the wait status.
template <typename Body>
int run_child_then_signal(int signal_number, Body body) {
  const pid_t child = fork();
  if (child == 0) {
    mopt::install_removal_on_signal();
    body();
    raise(signal_number);
    _exit(0);  // reached only if the signal did not end the child
  }
  int status = 0;
  waitpid(child, &status, 0);
  return status;
}

// A folder with a file and a nested folder, as a model-copy scratch folder looks.
fs::path make_tree(const fs::path& root) {
  fs::create_directories(root / "inputs");
  std::ofstream(root / "before.pt") << "model bytes";
  std::ofstream(root / "inputs" / "input_0.npy") << "input bytes";
  return root;
}

}  // namespace

TEST_SUITE("removed-on-signal") {
  TEST_CASE("SIGTERM removes a registered folder with its contents and still ends the process") {
    const auto dir = make_tree(mopt::test::temp_dir("signal-folder") / "scratch");
    const int status = run_child_then_signal(SIGTERM, [&] { new RemovedOnSignal(dir); });
    REQUIRE(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGTERM);
    CHECK_FALSE(fs::exists(dir));
  }

  TEST_CASE("SIGINT removes a ScratchDir and a registered temp file, and nothing else") {
    const auto root = mopt::test::temp_dir("signal-scratch");
    const auto temp_file = root / ".out.pt.tmp-1";
    const auto kept = root / "out.pt";
    std::ofstream(temp_file) << "half written";
    std::ofstream(kept) << "an earlier output";
    const auto listing = root / "scratch-path.txt";
    const int status = run_child_then_signal(SIGINT, [&] {
      ::setenv("TMPDIR", root.c_str(), 1);
      auto* scratch = new mopt::ScratchDir("mopt-signal-test");
      make_tree(scratch->path());
      std::ofstream(listing) << scratch->path().string();
      new RemovedOnSignal(temp_file);
    });
    REQUIRE(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGINT);
    std::string scratch_path;
    std::ifstream(listing) >> scratch_path;
    REQUIRE_FALSE(scratch_path.empty());
    CHECK_FALSE(fs::exists(scratch_path));
    CHECK_FALSE(fs::exists(temp_file));
    CHECK(fs::exists(kept));
  }

  TEST_CASE("a path whose guard is gone is not removed") {
    const auto dir = make_tree(mopt::test::temp_dir("signal-released") / "kept");
    const int status = run_child_then_signal(SIGTERM, [&] { RemovedOnSignal released(dir); });
    REQUIRE(WIFSIGNALED(status));
    CHECK(fs::exists(dir / "inputs" / "input_0.npy"));
  }
}
