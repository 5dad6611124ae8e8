#pragma once
// TensorProto <-> at::Tensor and ONNX element type <-> torch dtype.
#include <onnx/onnx_pb.h>
#include <torch/script.h>

#include <optional>
#include <string>

namespace mopt {

/// The torch dtype of an ONNX element type, or nullopt for types LibTorch cannot hold
/// (strings, complex, 4-bit and 8-bit floats, ...). LibTorch holds uint16/32/64 but computes
/// little on them: the importer computes them in int64 (see compute_dtype in the importer).
std::optional<at::ScalarType> torch_dtype(int32_t onnx_type);

/// The ONNX element type of a torch dtype, or nullopt.
std::optional<int32_t> onnx_dtype(at::ScalarType dtype);

/// Decodes a dense tensor (raw_data or the typed fields); nullopt when the type is unsupported,
/// the data is external or the element count does not match the dims.
std::optional<at::Tensor> tensor_to_torch(const onnx::TensorProto& tensor);

/// Why a TensorProto's stored data does not fit its dims ("raw_data holds 8 bytes, dims say 4
/// elements of 4 bytes", "holds 1 values, dims say 3"), or "" when it fits or the type is one
/// LibTorch cannot hold. Reads sizes only; decodes nothing.
std::string tensor_data_mismatch(const onnx::TensorProto& tensor);

/// Encodes a tensor as a TensorProto named `name`, little-endian in raw_data.
/// Throws runtime_failure for dtypes ONNX cannot represent.
onnx::TensorProto torch_to_tensor(const at::Tensor& tensor, const std::string& name);

}  // namespace mopt
