#pragma once
// A model imported from ONNX computes ONNX semantics that have no single aten op (run-time shape
// lists, Slice's clamping, ScatterND, Unique...) in TorchScript helper methods
// (lib/onnx/import/helpers.h). Inlined, a helper is loops over lists whose length is only known at
// run time, which ONNX cannot express; kept whole, it is exactly the ONNX op it was written from.
// So before freezing, the exporter turns each call of a helper that has a translator into a call
// of an operator `mopt_onnx::<helper>` that runs the same helper (the graph still runs on the
// examples), and ops/helper_ops.cpp translates that operator back to its ONNX op.
#include <torch/csrc/jit/api/module.h>

namespace mopt::onnx_export {

/// Rewrites the helper calls of `module`'s forward() (every block) into `mopt_onnx::` operators
/// where a translator exists for them. Call only on a module the ONNX importer made (its helper
/// methods are the importer's).
void keep_helper_calls(torch::jit::Module& module);

}  // namespace mopt::onnx_export
