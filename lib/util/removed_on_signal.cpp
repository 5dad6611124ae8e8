#include "lib/util/removed_on_signal.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

namespace mopt {
namespace {

constexpr int kSlots = 64;
constexpr int kTerminatingSignals[] = {SIGINT, SIGTERM, SIGHUP};

// Fixed storage: the handler may not allocate. `owner` is the registering process, so a child
// forked between fork() and exec() (which inherits these slots) never removes its parent's files.
struct Slot {
  std::atomic<bool> taken{false};
  std::atomic<pid_t> owner{0};  // 0 until `path` is complete
  char path[4096];
};
Slot g_slots[kSlots];
std::atomic<pid_t> g_child{0};

// Removes `name` under the open folder `dir_fd`, recursing into folders, with system calls only
// (async-signal-safe: no allocation, no stdio). Each folder is re-read until a pass finds it empty,
// since entries removed while reading may make getdents skip others.
void remove_tree(int dir_fd, const char* name, int depth) {
  if (unlinkat(dir_fd, name, 0) == 0 || errno == ENOENT || depth > 16) return;
  const int fd = openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return;
  alignas(dirent64) char buffer[4096];
  for (int pass = 0; pass < 64; ++pass) {
    bool removed_any = false;
    lseek(fd, 0, SEEK_SET);
    for (ssize_t n; (n = getdents64(fd, buffer, sizeof buffer)) > 0;) {
      for (ssize_t offset = 0; offset < n;) {
        const auto* entry = reinterpret_cast<const dirent64*>(buffer + offset);
        offset += entry->d_reclen;
        if (std::strcmp(entry->d_name, ".") == 0 || std::strcmp(entry->d_name, "..") == 0) continue;
        remove_tree(fd, entry->d_name, depth + 1);
        removed_any = true;
      }
    }
    if (!removed_any) break;
  }
  close(fd);
  unlinkat(dir_fd, name, AT_REMOVEDIR);
}

// Passes the signal on to the running child and reaps it (SIGKILL after 2 s), with system calls only.
void end_child(int signal_number) {
  const pid_t child = g_child.load();
  if (child <= 0) return;
  kill(child, signal_number);
  const struct timespec tick = {0, 10'000'000};
  for (int waited = 0; waitpid(child, nullptr, WNOHANG) == 0; ++waited) {
    if (waited == 200) kill(child, SIGKILL);
    nanosleep(&tick, nullptr);
  }
}

extern "C" void remove_registered_then_end(int signal_number) {
  const int saved_errno = errno;
  const pid_t self = getpid();
  end_child(signal_number);
  for (auto& slot : g_slots) {
    if (slot.owner.load() == self) remove_tree(AT_FDCWD, slot.path, 0);
  }
  errno = saved_errno;
  // SA_RESETHAND restored the default action on entry; delivered again once this returns, it ends
  // the process with the signal's own status (130 for Ctrl-C in a shell).
  raise(signal_number);
}

}  // namespace

void install_removal_on_signal() {
  for (int signal_number : kTerminatingSignals) {
    struct sigaction current {};
    sigaction(signal_number, nullptr, &current);
    if (current.sa_handler == SIG_IGN) continue;  // nohup, or a background job of a non-interactive shell
    struct sigaction action {};
    action.sa_handler = remove_registered_then_end;
    action.sa_flags = SA_RESETHAND;
    sigemptyset(&action.sa_mask);
    sigaction(signal_number, &action, nullptr);
  }
}

RemovedOnSignal::RemovedOnSignal(const std::filesystem::path& path) {
  std::error_code ec;
  const std::string absolute = std::filesystem::absolute(path, ec).string();
  if (ec || absolute.size() >= sizeof(Slot::path)) return;
  for (int i = 0; i < kSlots; ++i) {
    bool expected = false;
    if (!g_slots[i].taken.compare_exchange_strong(expected, true)) continue;
    std::memcpy(g_slots[i].path, absolute.c_str(), absolute.size() + 1);
    g_slots[i].owner.store(getpid());
    slot_ = i;
    return;
  }
}

RemovedOnSignal::~RemovedOnSignal() {
  if (slot_ < 0) return;
  g_slots[slot_].owner.store(0);
  g_slots[slot_].taken.store(false);
}

ChildEndedOnSignal::ChildEndedOnSignal(pid_t child) { g_child.store(child); }
ChildEndedOnSignal::~ChildEndedOnSignal() { g_child.store(0); }

}  // namespace mopt
