#pragma once
// A read-only view of a module's forward graph for dependency analysis: every call inlined, so
// each conv/linear/batch_norm is one node, and every tensor read from a module is tied to the
// module's dotted path.
#include <torch/csrc/jit/ir/ir.h>
#include <torch/script.h>

#include <memory>
#include <string>
#include <unordered_map>
#include <utility>

namespace mopt::prune {

/// A tensor attribute of a submodule, e.g. {"layer1.0.conv1", "weight"}.
struct TensorSource {
  std::string module;
  std::string attribute;
};

/// The forward graph, copied and prepared for reading (never executed).
struct AnalysisGraph {
  std::shared_ptr<torch::jit::Graph> graph;
  /// Values that are submodules -> their dotted path ("" for the module itself).
  std::unordered_map<const torch::jit::Value*, std::string> modules;
  /// Values read from a submodule's tensor attribute (prim::GetAttr) -> where they come from.
  std::unordered_map<const torch::jit::Value*, TensorSource> tensors;

  /// Where a value comes from, or nullptr when it is not a module's tensor attribute.
  const TensorSource* source_of(const torch::jit::Value* value) const;
};

/// Copies `forward`, inlines every call, replaces int/bool/float/str module attributes by their
/// current values and folds the branches they decide. Why: scripted modules branch on their own
/// flags (`if self.use_res_connect:`, `if self.training:`), and only the branch taken describes
/// how channels really flow.
AnalysisGraph make_analysis_graph(const torch::jit::Module& module);

}  // namespace mopt::prune
