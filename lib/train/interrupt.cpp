#include "lib/train/interrupt.h"

#include <csignal>

namespace mopt::train {
namespace {

volatile std::sig_atomic_t g_interrupted = 0;
struct sigaction g_previous_int, g_previous_term;

extern "C" void on_signal(int) { g_interrupted = 1; }

}  // namespace

ScopedInterruptHandler::ScopedInterruptHandler() {
  struct sigaction action {};
  action.sa_handler = on_signal;
  action.sa_flags = SA_RESETHAND;  // one-shot: a second Ctrl-C kills
  sigemptyset(&action.sa_mask);
  sigaction(SIGINT, &action, &g_previous_int);
  sigaction(SIGTERM, &action, &g_previous_term);
}

ScopedInterruptHandler::~ScopedInterruptHandler() {
  sigaction(SIGINT, &g_previous_int, nullptr);
  sigaction(SIGTERM, &g_previous_term, nullptr);
}

bool interrupt_requested() { return g_interrupted != 0; }
void request_interrupt() { g_interrupted = 1; }
void clear_interrupt() { g_interrupted = 0; }

}  // namespace mopt::train
