#pragma once
// Tensor file readers. Each returns a contiguous CPU tensor with the file's own dtype and shape;
// any unreadable, truncated or unsupported file is invalid_input (exit 4) naming the file.
#include <torch/types.h>

#include <filesystem>
#include <string>

namespace mopt {

/// The tensor file formats mopt reads.
enum class TensorFileFormat { kNpy, kIdx, kTorchSaved, kTensorProto };

/// Short lowercase name of a format ("npy", "idx", "torch.save", "onnx-tensor").
const char* format_name(TensorFileFormat format);

/// Detects the format from the bytes (npy magic, IDX magic also inside gzip, zip archive), and
/// falls back to the extension only for .pb (a protobuf has no magic number).
TensorFileFormat detect_tensor_format(const std::filesystem::path& path);

/// NumPy .npy (v1-v3, little-endian, C order): float32/64/16, int64/32/16/8, uint8/16/32/64, bool.
torch::Tensor read_npy(const std::filesystem::path& path);

/// IDX (MNIST) file, raw or gzip-compressed: ubyte, byte, short, int, float, double.
torch::Tensor read_idx(const std::filesystem::path& path);

/// Serialized onnx::TensorProto (raw_data or the typed float/int32/int64/double fields).
torch::Tensor read_tensor_pb(const std::filesystem::path& path);

/// A tensor written by torch.save (zip format) or torch::pickle_save; for a tuple, list or dict
/// the first tensor element is taken.
torch::Tensor read_torch_saved(const std::filesystem::path& path);

/// Writes a tensor of a dtype read_npy reads as a .npy file (atomically).
void write_npy(const torch::Tensor& tensor, const std::filesystem::path& path);

/// Reads any of the formats above, chosen by detect_tensor_format.
torch::Tensor read_tensor_file(const std::filesystem::path& path);

}  // namespace mopt
