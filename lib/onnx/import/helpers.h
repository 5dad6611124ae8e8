#pragma once
// TorchScript helper methods that generated code calls for ONNX semantics with no single aten
// equivalent (runtime shape lists, Reshape's 0 dims, bidirectional Expand, Slice with clamping and
// negative steps). Only the helpers a model uses are added to it.
#include <string>
#include <vector>

namespace mopt::onnx_import {

/// The `def _name(self, ...)` source of a helper; throws for an unknown name.
const std::string& helper_source(const std::string& name);

/// Helpers that `name` calls.
std::vector<std::string> helper_dependencies(const std::string& name);

/// Every helper's name.
std::vector<std::string> helper_names();

}  // namespace mopt::onnx_import
