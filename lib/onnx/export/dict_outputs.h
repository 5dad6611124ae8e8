#pragma once
// torchvision's segmentation models pass dicts: the backbone returns its features by name, and
// forward() returns {"out": ..., "aux": ...}:
//   features = {}; features["out"] = x; ... ; x = features["out"] ...; result = {}; result["out"] = y; return result
// ONNX has no dict. Where every key is a constant, each read is the value last stored under its
// key, and a returned dict is its values, as outputs named by their keys.
#include <torch/csrc/jit/ir/ir.h>

#include <string>
#include <vector>

namespace mopt::onnx_export {

/// For each dict made by aten::dict() in the top-level block and used there only by
/// aten::_set_item and aten::__getitem__ with constant string keys (and by the return): each read
/// becomes the value last stored under its key before it, and the dict and its stores go. A
/// returned dict becomes a tuple of its values (the exporter lists a returned tuple's elements as
/// outputs), in the dict's order: first store of each key, value of its last. Returns the keys of
/// the returned dict in that order; none when forward() returns something else. Dicts used in any
/// other way are left alone.
std::vector<std::string> resolve_constant_key_dicts(torch::jit::Graph& graph);

}  // namespace mopt::onnx_export
