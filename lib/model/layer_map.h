#pragma once
// Which module each op of an inlined (frozen) graph came from, kept across save and load.
//
// Freezing inlines every submodule's forward into one graph; each inlined node remembers the
// module instances it was called through (its inlined call stack), and LibTorch's profiler reads
// that to name a layer. TorchScript's archive format prints the graph as code and drops those
// call stacks, so a frozen model loaded from disk profiles as one flat "(top level)". mopt stores
// the call stacks in the archive (extra file kLayerMapFile) and puts them back on load.
#include <torch/csrc/jit/ir/scope.h>
#include <torch/script.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mopt {

/// Name of the extra file inside a TorchScript archive that holds the layer map.
inline constexpr const char* kLayerMapFile = "mopt_layers.json";

/// The dotted path of the module instance `node` was inlined from ("features.0"; "" for an op of
/// the top-level forward), from its call stack.
std::string layer_path(const torch::jit::Node* node);

/// The layer map of `module`'s forward graph as JSON, or nullopt when no node in it carries a
/// module call stack (an un-inlined module already names its layers through its own methods).
std::optional<std::string> layer_map_json(const torch::jit::Module& module);

/// Puts the call stacks of a layer map back on `module`'s forward graph: its op nodes are matched
/// to the map's in graph order, by op kind. Returns how many nodes got a call stack. A map that
/// does not parse or does not fit the graph restores nothing: the map only labels profiles.
size_t restore_layer_map(torch::jit::Module& module, const std::string& json);

/// The op nodes of a graph in order, with the call stacks they carry: taken before a rewrite
/// that drops them (LibTorch's quantization fusions build new nodes without call stacks).
struct LayerSnapshot {
  std::vector<std::pair<std::string, c10::optional<torch::jit::InlinedCallStackPtr>>> ops;
};
LayerSnapshot snapshot_layers(const torch::jit::Module& module);

/// Labels the forward ops of `module` that a rewrite left without a call stack, from what sat
/// between the same kept neighbours in `before`: a fused op takes the call stack of the op it is
/// named after (quantized::conv2d_relu that of aten::conv2d), another op that of the ops it
/// replaced when they came from one layer (aten::linear rewritten as matmul + add); then a
/// quantize/dequantize op takes the layer of the op it feeds (else of the op feeding it).
/// Returns how many ops were labelled.
size_t carry_layers(const LayerSnapshot& before, torch::jit::Module& module);

}  // namespace mopt
