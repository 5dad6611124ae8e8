#pragma once
// Structural facts about a model's graph: op histograms and parameter counts. Used by
// `mopt inspect`, by passes to count rewrites, and by tests.
#include <cstdint>
#include <map>
#include <string>

#include "lib/model/model.h"

namespace mopt {

/// Node kind -> count over the model's forward graph (TorchScript: inlined, recursive into
/// blocks, without prim::Constant; ONNX: op_type over the main graph).
std::map<std::string, int64_t> op_histogram(const Model& model);

/// How many ops of `kind` the model has (0 if none).
int64_t op_count(const Model& model, const std::string& kind);

/// Ops that disappeared between two histograms: sum over kinds of max(0, before - after).
int64_t ops_removed(const std::map<std::string, int64_t>& before, const std::map<std::string, int64_t>& after);

/// Total node count of a histogram.
int64_t total_ops(const std::map<std::string, int64_t>& histogram);

/// Parameter count and bytes. TorchScript: trainable parameters, or, for a frozen module whose
/// parameters became graph constants, the tensor constants of its graph. ONNX: initializers.
struct ParameterTotals {
  int64_t count = 0;
  int64_t bytes = 0;
  int64_t float32_bytes = 0;  ///< TorchScript and AOTInductor: of which float32
  int64_t half_bytes = 0;     ///< and float16 or bfloat16
  /// Most weight bytes are float32: the model computes in float32 (unless it casts them).
  bool mostly_float32() const { return float32_bytes > half_bytes; }
};
ParameterTotals parameter_totals(const Model& model);

}  // namespace mopt
