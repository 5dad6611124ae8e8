#pragma once
// The files and folders mopt makes for the length of one step (scratch folders holding model copies,
// the temp file of an atomic write) are removed by their owners on every normal exit path. This
// removes them when SIGINT, SIGTERM or SIGHUP ends the process instead (a Ctrl-C, a batch timeout,
// a CI job cancelled), then lets the signal end the process as it would have, so the exit status
// still names the signal. SIGKILL cannot be caught: ScratchDir's named prefixes and
// write_atomically's sweep of stale temp files cover that case.
#include <sys/types.h>

#include <filesystem>

namespace mopt {

/// Installs the handlers (once, at program start: a handler installed later, such as distill's
/// Ctrl-C checkpointing, saves and restores this one). Signals the process ignores stay ignored.
void install_removal_on_signal();

/// While this lives, `path` (a file, or a folder with its contents) is removed if a terminating
/// signal arrives. Destroying it only unregisters the path: its owner removes or keeps it. Up to 64
/// paths at once; past that a path is not registered (its owner still removes it on normal exits).
class RemovedOnSignal {
 public:
  explicit RemovedOnSignal(const std::filesystem::path& path);
  ~RemovedOnSignal();
  RemovedOnSignal(const RemovedOnSignal&) = delete;
  RemovedOnSignal& operator=(const RemovedOnSignal&) = delete;

 private:
  int slot_ = -1;
};

/// While this lives, a terminating signal is passed on to `child` (a helper process such as a
/// `mopt bench` measurement), which is given 2 s to end (then SIGKILL) before the registered paths
/// are removed: nothing is left running that would write into them. One child at a time.
class ChildEndedOnSignal {
 public:
  explicit ChildEndedOnSignal(pid_t child);
  ~ChildEndedOnSignal();
  ChildEndedOnSignal(const ChildEndedOnSignal&) = delete;
  ChildEndedOnSignal& operator=(const ChildEndedOnSignal&) = delete;
};

}  // namespace mopt
