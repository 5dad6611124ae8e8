#pragma once
// Multiply-accumulate counts of a model for `mopt bench`: the hardware-independent size of the
// work, so latency can be read as achieved GMAC/s and compared across models.
#include <torch/script.h>

#include <cstdint>

#include "lib/model/model.h"

namespace mopt {

/// MACs of one forward pass.
struct MacCount {
  int64_t macs = 0;       ///< multiply-accumulates for the given input, batch included
  int64_t layers = 0;     ///< conv/linear/matmul ops counted
  bool complete = true;   ///< false when some such op could not be sized (or the model is ONNX)
};

/// Counts the MACs of conv (incl. transposed, quantized, oneDNN), linear/addmm, matmul/mm/bmm/baddbmm
/// and fused attention / encoder-layer ops over one
/// forward of `examples` (one per forward() input; inputs after them take their declared
/// defaults), from the shapes observed while running it on a frozen eval clone (the model itself is
/// untouched). ONNX models give {0, 0, false}. Throws invalid_input when the examples do not fit
/// the model.
MacCount count_macs(const Model& model, const std::vector<torch::Tensor>& examples);

}  // namespace mopt
