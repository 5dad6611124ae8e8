#include "lib/model/graph_walk.h"

namespace mopt {
namespace {

void collect(torch::jit::Block* block, std::vector<torch::jit::Node*>& nodes) {
  for (auto* node : block->nodes()) {
    nodes.push_back(node);
    for (auto* sub : node->blocks()) collect(sub, nodes);
  }
}

}  // namespace

std::vector<torch::jit::Node*> all_nodes(torch::jit::Block* block) {
  std::vector<torch::jit::Node*> nodes;
  collect(block, nodes);
  return nodes;
}

}  // namespace mopt
