#pragma once
// Bottleneck hints of `mopt bench --op-profile`: short sentences computed from the profile, each
// with the figures behind it, so "INT8 did not help" can be traced to where the time went.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "lib/bench/op_profile_summary.h"

namespace mopt {

/// One hint: a kind, a sentence and its figures.
struct Hint {
  std::string kind;     ///< top-layers, quantize-boundaries, layout-reorders, fp32-in-int8, compute-bound, memory-bound, allocator-changed
  std::string message;  ///< one line with the numbers
  nlohmann::json figures = nlohmann::json::object();
};

/// Whether an op only changes memory layout (oneDNN blocked <-> dense, or a contiguous copy).
bool is_layout_reorder(const std::string& op);

/// Hints for a profile; `macs` is the model's multiply-accumulates per inference as bench counted
/// them (0 when unknown). A model counts as INT8 when any op is quantized:: or takes a quantized tensor.
std::vector<Hint> bottleneck_hints(const OpProfileSummary& summary, const std::vector<ProfiledEvent>& events,
                                   int64_t macs);

/// "allocator-changed" when the profiled calls made far more or fewer page faults than the
/// unprofiled ones (over 2x and over kFreshMemoryHintMb apart): the profiler, holding buffers
/// longer, changed whether the C allocator keeps them, so the profile's times are not the row's.
std::optional<Hint> allocator_hint(double profiled_faults_per_call, double unprofiled_faults_per_call);

/// [{"kind","message","figures"}, ...]
nlohmann::json hints_json(const std::vector<Hint>& hints);

}  // namespace mopt
