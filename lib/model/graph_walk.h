#pragma once
// Walking a TorchScript graph.
#include <torch/csrc/jit/ir/ir.h>

#include <vector>

namespace mopt {

/// Every node of `block` and of the blocks nested in its nodes (prim::If branches, loop bodies),
/// each node before the nodes of its own blocks, in graph order.
std::vector<torch::jit::Node*> all_nodes(torch::jit::Block* block);

/// prim::mkldnn_convolution, prim::MKLDNNHardSwish, ...: the oneDNN ops of a graph frozen for
/// inference. The interpreter runs them itself, past the dispatcher, so profilers never see them.
bool is_mkldnn_prim(const torch::jit::Node* node);

}  // namespace mopt
