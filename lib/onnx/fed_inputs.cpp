#include "lib/onnx/fed_inputs.h"

#include <set>
#include <string>

namespace mopt {

std::vector<int> fed_inputs(const onnx::GraphProto& graph) {
  std::set<std::string> initializers;
  for (const auto& init : graph.initializer()) initializers.insert(init.name());
  std::vector<int> positions;
  for (int i = 0; i < graph.input_size(); ++i) {
    if (!initializers.count(graph.input(i).name())) positions.push_back(i);
  }
  return positions;
}

}  // namespace mopt
