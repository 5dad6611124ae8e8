#pragma once
// Walking a TorchScript graph.
#include <torch/csrc/jit/ir/ir.h>

#include <vector>

namespace mopt {

/// Every node of `block` and of the blocks nested in its nodes (prim::If branches, loop bodies),
/// each node before the nodes of its own blocks, in graph order.
std::vector<torch::jit::Node*> all_nodes(torch::jit::Block* block);

}  // namespace mopt
