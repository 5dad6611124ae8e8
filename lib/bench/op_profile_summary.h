#pragma once
// Per-layer and per-op-kind tables of `mopt bench --op-profile`, computed from linked profiler
// records (op_profile.h). Times are per inference: totals over the profiled iterations divided by
// their count; p50/p99 are taken over the iterations.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "lib/bench/op_profile.h"

namespace mopt {

/// One module instance: the top-level ops (those no other op called) that ran inside it.
struct LayerRow {
  std::string path;            ///< "features.3.conv.1"; "" for ops at the model's top level
  std::string type;            ///< module class, e.g. "Conv2d"
  double calls = 0;            ///< top-level op calls per inference
  double total_ms = 0;         ///< time of its top-level ops per inference (self = total: the layer is a leaf)
  double share = 0;            ///< of the op total
  double p50_ms = 0, p99_ms = 0;
  std::vector<std::string> ops;  ///< distinct op names, call order
  std::string input_shapes;    ///< shapes of its first op's tensor inputs, e.g. "1x1x28x28, 32x1x3x3, 32"
  double gflop = 0;            ///< profiler FLOP estimate per inference / 1e9 (fp32 conv/linear only)
};

/// One op name over all nesting levels.
struct OpKindRow {
  std::string name;
  double calls = 0;            ///< per inference
  double total_ms = 0;         ///< inclusive (children ops counted), per inference
  double self_ms = 0;          ///< exclusive, per inference
  double share = 0;            ///< self time of the op total; the shares of all kinds sum to 1
  double p50_ms = 0, p99_ms = 0;  ///< of the per-iteration inclusive time
  std::vector<std::string> input_shapes;  ///< up to 3 distinct input-shape lists
  std::vector<std::string> dtypes;        ///< distinct dtypes of the first input
};

/// The whole profile.
struct OpProfileSummary {
  int64_t iterations = 0;
  double op_total_ms = 0;      ///< top-level op time per inference
  double marked_ms = 0;        ///< time inside the iteration markers per inference (ops + interpreter)
  std::vector<LayerRow> layers;   ///< by total_ms, descending
  std::vector<OpKindRow> ops;     ///< by self_ms, descending
};

/// Aggregates linked events; records outside any iteration are ignored.
OpProfileSummary summarize_profile(const std::vector<ProfiledEvent>& events);

/// "1x1x28x28, 32x1x3x3, 32" (non-tensor inputs left out; a 0-d tensor is "scalar").
std::string shapes_text(const std::vector<std::vector<int64_t>>& shapes);

/// {"iterations","op_total_ms","marked_ms","layers":[...],"ops":[...]}
nlohmann::json summary_json(const OpProfileSummary& summary);

}  // namespace mopt
