#pragma once
// String tensors in the imported module: see strings.cpp.
#include "lib/onnx/import/node_context.h"

namespace mopt::onnx_import {

/// The TorchScript type of a string tensor: its strings in row-major order, and its shape.
inline constexpr char kStringTensor[] = "Tuple[List[str], List[int]]";

/// Equal on two string tensors (Equal's converter hands string inputs here).
void convert_string_equal(NodeContext& c);

}  // namespace mopt::onnx_import
