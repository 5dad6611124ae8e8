#pragma once
// Ctrl-C during training: the first SIGINT/SIGTERM only raises a flag; the trainer finishes the
// step it is in, saves a checkpoint and exits cleanly (exit code 130). A second one acts as usual
// (the handler is one-shot), so a stuck step can still be killed.
namespace mopt::train {

/// Installs the flag-raising handler for its lifetime and restores the previous one after.
class ScopedInterruptHandler {
 public:
  ScopedInterruptHandler();
  ~ScopedInterruptHandler();
  ScopedInterruptHandler(const ScopedInterruptHandler&) = delete;
  ScopedInterruptHandler& operator=(const ScopedInterruptHandler&) = delete;
};

/// True once a SIGINT/SIGTERM arrived while a handler was installed.
bool interrupt_requested();

/// Raises the flag as a signal would (tests, and the trainer's --stop-after-steps).
void request_interrupt();

/// Lowers the flag (at the start of every training run).
void clear_interrupt();

}  // namespace mopt::train
