#pragma once
#include <onnx/onnx_pb.h>

#include <filesystem>

namespace mopt {

/// Parses an ONNX file and pulls every external-data tensor into the proto. External paths must
/// stay inside the model's folder; anything else is invalid input (exit 4).
onnx::ModelProto load_onnx(const std::filesystem::path& path);

/// Writes a self-contained ONNX file (all tensors inline) atomically.
void save_onnx(const onnx::ModelProto& proto, const std::filesystem::path& path);

/// Parses bytes as an ONNX model; false when they are not a plausible ModelProto.
bool parse_onnx_bytes(const std::string& bytes, onnx::ModelProto& proto);

}  // namespace mopt
