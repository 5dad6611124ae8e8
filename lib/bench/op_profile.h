#pragma once
// `mopt bench --op-profile`: times calls with mopt's own record observer (scope_recorder.h), labels
// the records from one call under LibTorch's profiler (the Kineto-state collector built into
// Debian's LibTorch; its libkineto trace writer is not, so traces are written by chrome_trace.h)
// and returns them linked into per-thread trees and iterations.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace mopt {

/// Name of the user-scope record that brackets each profiled call.
inline constexpr const char* kIterationMarker = "mopt::iteration";

/// One profiler record: a dispatcher op, a TorchScript function, or an iteration marker.
struct ProfiledEvent {
  std::string name;                       ///< e.g. "aten::conv2d", "quantized::linear", "forward"
  double start_us = 0;                    ///< Kineto and ORT report whole microseconds, the timed pass nanoseconds
  double duration_us = 0;
  uint64_t thread = 0;
  uint64_t sequence = 0;                  ///< the profiler's correlation id: call order on a thread
  bool is_op = false;                     ///< a dispatcher or custom-class op (not a TorchScript frame)
  bool is_marker = false;                 ///< a kIterationMarker record
  std::vector<std::string> module_path;   ///< instance names from the root, e.g. {"features", "3", "conv", "1"}
  std::string module_type;                ///< class of the innermost module, e.g. "Conv2d"
  std::vector<std::vector<int64_t>> shapes;  ///< input shapes ({} for non-tensor inputs)
  std::vector<std::string> dtypes;        ///< input dtypes as the profiler names them ("float", "QUInt8", ...)
  uint64_t flops = 0;                     ///< the profiler's FLOP estimate (fp32 conv/mm/addmm/bmm/add/mul), else 0
  int parent = -1;                        ///< index of the enclosing record on the same thread, -1 for a root
  int iteration = -1;                     ///< index of the profiled call it belongs to, -1 outside any
  double end_us() const { return start_us + duration_us; }
};

/// Records of `iterations` profiled calls plus each call's wall time seen from outside the profiler.
struct ProfileCapture {
  std::vector<ProfiledEvent> events;  ///< linked: parent and iteration set
  std::vector<double> iteration_ms;   ///< steady-clock time of each profiled call
  std::string labelled_by;            ///< where module paths, shapes and FLOPs came from
};

/// Calls `call` `iterations` times with a lean record observer on (names and times only), each
/// call inside a kIterationMarker scope, then once more under LibTorch's profiler with module
/// hierarchy, input shapes and FLOP estimates, and copies those onto the timed records (the k-th
/// record of a name from the k-th of that name).
/// Throws runtime_failure when the profiler cannot be started.
ProfileCapture capture_op_profile(const std::function<void()>& call, int64_t iterations);

/// Instance path and innermost class from LibTorch's module hierarchy entries, e.g.
/// {"TOP(Net)::forward", "features(Sequential)::forward", "3(Block)::forward", "SELF(Block)::f",
/// "::relu"} -> path {"features", "3"}, type "Block". TOP and SELF name no instance.
void parse_module_hierarchy(const std::vector<std::string>& entries, std::vector<std::string>& path,
                            std::string& type);

/// Sets parent and iteration of every event from call order and times. Events are re-sorted by
/// (thread, sequence). A record opened before its predecessor closed is its child; LibTorch rounds
/// times down to microseconds, so a child that starts in its parent's last microsecond reads as a
/// sibling (an error bounded by that microsecond); an iteration marker keeps such an op (nothing
/// else runs between two markers), so a call's last op is never lost from its iteration.
void link_events(std::vector<ProfiledEvent>& events);

/// The events as "a.b.c" module path ("" at the model's top level).
std::string module_path_text(const std::vector<std::string>& path);

}  // namespace mopt
