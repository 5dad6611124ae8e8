#pragma once
// TorchScript -> ONNX: the frozen, inlined forward graph translated op by op (one translator per
// aten op or family, lib/onnx/export/ops/), validated by onnx::checker plus strict shape inference
// (what onnx.checker.check_model(full_check=True) does).
#include <onnx/onnx_pb.h>

#include <cstdint>
#include <string>
#include <vector>

#include "lib/model/model.h"

namespace mopt {

/// The opsets the exporter writes. The default is the newest: the bundled ONNX Runtime (1.30) runs
/// it, and ONNX 1.23's checker checks it.
inline constexpr int64_t kMinExportOpset = 13;
inline constexpr int64_t kMaxExportOpset = 21;

struct ExportOptions {
  int64_t opset = kMaxExportOpset;
  /// One example per forward() input, for its dtype and shape (dim 0 is exported as a symbolic
  /// batch); required.
  std::vector<at::Tensor> examples;
};

/// Exports a TorchScript model. A model imported from ONNX keeps its input and output names.
/// Throws invalid_input (exit 4) listing every unsupported op, or naming an unsupported argument.
onnx::ModelProto export_to_onnx(const Model& model, const ExportOptions& options);

/// export_to_onnx() at the default opset with the inputs shaped like `samples` (one row of each
/// input of the data the command measures on), as a Model ready to save and time in ONNX Runtime.
Model export_like(const Model& model, const std::vector<torch::Tensor>& samples);

}  // namespace mopt
