#include "lib/measure/scope_recorder.h"

#include <chrono>

#include "lib/errors.h"

namespace mopt {
namespace {

thread_local ScopeRecorder* t_recorder = nullptr;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

}  // namespace

ScopeRecorder::ScopeRecorder() {
  if (t_recorder) throw runtime_failure("a scope recorder is already active on this thread");
  t_recorder = this;
  handle_ = at::addThreadLocalCallback(at::RecordFunctionCallback(&ScopeRecorder::on_enter, &ScopeRecorder::on_exit));
}

ScopeRecorder::~ScopeRecorder() { stop(); }

std::vector<RecordedScope> ScopeRecorder::stop() {
  if (handle_ != 0) {
    at::removeCallback(handle_);
    handle_ = 0;
    t_recorder = nullptr;
  }
  return std::move(records_);
}

std::unique_ptr<at::ObserverContext> ScopeRecorder::on_enter(const at::RecordFunction& fn) {
  // The callback travels with LibTorch's thread-local state into tasks it launches; those threads
  // have no recorder of their own.
  if (auto* self = t_recorder) {
    self->open_.push_back(self->records_.size());
    self->records_.push_back({fn.name(), fn.scope(), now_ns(), 0});
  }
  return nullptr;
}

void ScopeRecorder::on_exit(const at::RecordFunction& /*fn*/, at::ObserverContext* /*context*/) {
  const int64_t end = now_ns();
  auto* self = t_recorder;
  if (!self || self->open_.empty()) return;
  self->records_[self->open_.back()].end_ns = end;
  self->open_.pop_back();
}

}  // namespace mopt
