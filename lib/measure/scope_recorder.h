#pragma once
// The op profiler's timing pass: a RecordFunction observer of its own. LibTorch's profiler (Kineto
// state) costs microseconds per record, as much as a small transformer's ops take, which doubled
// the profiled call; this observer copies the name and reads the steady clock twice per record.
#include <ATen/record_function.h>

#include <cstdint>
#include <string>
#include <vector>

namespace mopt {

/// One RecordFunction scope: a dispatcher op, a TorchScript function or a user scope.
struct RecordedScope {
  std::string name;
  at::RecordScope scope = at::RecordScope::FUNCTION;
  int64_t start_ns = 0;  ///< steady clock
  int64_t end_ns = 0;    ///< 0 while still open
};

/// Records every scope opened on the constructing thread, in call order, until stop() or
/// destruction. Scopes opened on other threads (intra-op workers) are not recorded: LibTorch's ops
/// are dispatched from the calling thread. One recorder per thread at a time.
class ScopeRecorder {
 public:
  ScopeRecorder();
  ~ScopeRecorder();
  ScopeRecorder(const ScopeRecorder&) = delete;
  ScopeRecorder& operator=(const ScopeRecorder&) = delete;

  /// Makes room for this many records in all, so that recording does not reallocate mid-call.
  void reserve(size_t records) { records_.reserve(records); }
  size_t size() const { return records_.size(); }

  /// Stops observing and returns the records (start order; children follow their parent).
  std::vector<RecordedScope> stop();

 private:
  static std::unique_ptr<at::ObserverContext> on_enter(const at::RecordFunction& fn);
  static void on_exit(const at::RecordFunction& fn, at::ObserverContext* context);

  std::vector<RecordedScope> records_;
  std::vector<size_t> open_;  // indices of the scopes entered and not yet left (RAII: LIFO)
  at::CallbackHandle handle_ = 0;
};

}  // namespace mopt
