#pragma once
// Submodules that no method reads once the training-only branches are gone (GoogLeNet's and
// Inception-v3's auxiliary classifiers run only `if self.training`). LibTorch's InsertObservers
// leaves such a module half-observed: its shared type gains observer attributes that its object
// never gets, and the next walk of the module tree fails an internal assert ("slot <
// slots_.size()"). Dropping them first, as freezing does for unused attributes, avoids that.
#include <torch/script.h>

#include <string>
#include <vector>

namespace mopt::quant {

/// Removes, from every module object and type, each submodule attribute that no method in the module
/// tree reads or writes (its type's own methods and hooks, or a parent reading a container's
/// elements). Nothing is removed from a tree that calls a module through an interface. Call it on
/// a clone, after resolve_inference_branches(). Returns the removed submodules' paths ("aux1",
/// "aux2"), sorted.
std::vector<std::string> drop_unused_submodules(torch::jit::Module& module);

}  // namespace mopt::quant
