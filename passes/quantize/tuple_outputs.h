#pragma once
// A model that returns a tuple (torchvision's scripted GoogLeNet returns the NamedTuple
// GoogLeNetOutputs(logits, aux2, aux1)) gets, from LibTorch's InsertQuantDeQuant, one
// `aten::dequantize.any` of the whole tuple, typed Any. It runs, but the saved code,
// `return torch.dequantize(GoogLeNetOutputs(x, None, None))`, does not load again: "Return value was
// annotated as having type GoogLeNetOutputs but is actually of type Any".
#include <torch/csrc/jit/ir/ir.h>

#include <cstdint>

namespace mopt::quant {

/// Rewrites each dequantize of a tuple built by prim::TupleConstruct into a dequantize of each of
/// its tensor elements, and the tuple built from those (same tuple type, None elements kept).
/// Returns the number of tuples rewritten; a tuple with an element of another type is left alone.
int64_t dequantize_tuple_elements(torch::jit::Graph& graph);

}  // namespace mopt::quant
