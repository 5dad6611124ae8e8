#pragma once
// Constant folding of an ONNX model: nodes whose inputs are all fixed at load time (initializers that
// are not graph inputs, Constant outputs, values folded before them) are evaluated once, through the
// importer's own converters, and stored as initializers. One implementation for the `fold-constants`
// pass and for the importer, which folds before it converts so that a converter sees the weights
// an exporter left as arithmetic (PyTorch's scripted exports compute LSTM gate orders, for example,
// inside If branches on every call).
#include <onnx/onnx_pb.h>

#include <cstdint>

namespace mopt {

/// What no_growth still lets a node grow to (4 MiB of float32): a filter bank computed from a few
/// constants (onnx-asr's resamplers build a 160x475 sinc kernel from a 160- and a 475-long range:
/// computed on every call unfolded, 28x ONNX Runtime's time, which folds it).
inline constexpr int64_t kGrowthFloor = int64_t{1} << 20;

struct FoldOptions {
  /// Largest tensor (in elements) to materialize; 0 = no limit.
  int64_t max_size = 16777216;
  /// Also refuse any output larger than the node's inputs together (or kGrowthFloor elements): the
  /// importer folds weight arithmetic, not an Expand or ConstantOfShape into a buffer the file never held.
  bool no_growth = false;
  /// Leave QuantizeLinear/DequantizeLinear alone: the importer reads a quantized model's structure.
  bool keep_quantization = false;
};

struct FoldStats {
  int64_t nodes_folded = 0;           ///< in every graph
  int64_t subgraph_nodes_folded = 0;  ///< of those, inside If/Loop/Scan bodies
  int64_t initializers_created = 0;
  int64_t unread_removed = 0;  ///< folded nodes nothing read: dead code dropped with them
  int64_t initializers_removed = 0;
  int64_t skipped_unsupported = 0;
  int64_t skipped_too_large = 0;
};

/// Folds `model` in place, If/Loop/Scan bodies too (from IR version 4), reading the enclosing graphs'
/// constants: folded values become initializers of the main graph, Constant nodes in
/// a body (ONNX's type inference types those there). A graph where nothing folds is left unchanged; a Constant node is kept
/// unless every reader of it was folded; an Identity of a value that stays stored is kept (a copy
/// would only add bytes); initializers the folding left unread are removed.
FoldStats fold_constants(onnx::ModelProto& model, const FoldOptions& options);

}  // namespace mopt
