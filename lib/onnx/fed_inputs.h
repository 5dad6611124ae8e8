#pragma once
// Which of an ONNX graph's inputs a caller feeds.
#include <onnx/onnx_pb.h>

#include <vector>

namespace mopt {

/// Positions in graph.input() of the inputs a caller feeds, in order. An input that is also an
/// initializer is not one of them: IR < 4 lists every initializer as an input, and from IR 4 on
/// such an input is an overridable default.
std::vector<int> fed_inputs(const onnx::GraphProto& graph);

}  // namespace mopt
