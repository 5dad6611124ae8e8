#pragma once
// Structural checks an ONNX graph must pass before conversion; each failure is invalid_input
// (exit 4) naming the node or value.
#include <onnx/onnx_pb.h>

#include <string>
#include <vector>

namespace mopt::onnx_import {

/// The ai.onnx opset the model imports (default domain), or invalid_input when it has none.
int64_t model_opset(const onnx::ModelProto& model);

/// Node indices in an order where every input is defined before use (an If waits for the values its
/// branches read). Throws invalid_input for an input nothing defines (unless the graph is a subgraph
/// that `reads_enclosing_scope`), a value defined twice, or a cycle (naming the nodes involved).
std::vector<int> topological_order(const onnx::GraphProto& graph, bool reads_enclosing_scope = false);

/// Every default-domain node against its operator's schema at the model's opset (input and output
/// counts, attribute names and types), as ONNX Runtime checks when it loads a model: ONNX's shape
/// inference trusts what the schema promises (fuzzing found it dereferencing a missing output of a
/// ConvTranspose). Call before onnx::shape_inference::InferShapes. Throws invalid_input naming the node.
void check_node_schemas(const onnx::ModelProto& model);

/// Graph-level checks: node schemas (in subgraphs too), opset in range, topological order exists (in each
/// subgraph too, whose reads must be in scope), graph outputs are defined.
void validate_graph(const onnx::ModelProto& model);

}  // namespace mopt::onnx_import
