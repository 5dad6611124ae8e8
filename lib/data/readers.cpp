// Format detection and dispatch for tensor files; the readers live in one file per format.
#include "lib/data/readers.h"

#include <fmt/format.h>

#include "lib/data/file_io.h"
#include "lib/errors.h"

namespace mopt {

const char* format_name(TensorFileFormat format) {
  switch (format) {
    case TensorFileFormat::kNpy:
      return "npy";
    case TensorFileFormat::kIdx:
      return "idx";
    case TensorFileFormat::kTorchSaved:
      return "torch.save";
    case TensorFileFormat::kTensorProto:
      return "onnx-tensor";
  }
  return "unknown";
}

TensorFileFormat detect_tensor_format(const std::filesystem::path& path) {
  auto prefix = data_detail::read_file_prefix(path, 8);
  auto starts_with = [&](const char* magic, size_t n) {
    return prefix.size() >= n && prefix.compare(0, n, magic, n) == 0;
  };
  if (prefix.empty()) throw invalid_input(fmt::format("{}: file is empty", path.string()));
  if (starts_with("\x93NUMPY", 6)) return TensorFileFormat::kNpy;
  if (starts_with("PK\x03\x04", 4)) return TensorFileFormat::kTorchSaved;
  if (starts_with("\x80\x02", 2)) return TensorFileFormat::kTorchSaved;  // legacy torch.save
  // A protobuf never starts with a zero byte (field number 0 is invalid), so IDX is unambiguous.
  if (data_detail::is_idx_magic(prefix)) return TensorFileFormat::kIdx;
  if (starts_with("\x1f\x8b", 2)) {
    if (data_detail::is_idx_magic(data_detail::read_decompressed_prefix(path, 8)))
      return TensorFileFormat::kIdx;
    throw invalid_input(
        fmt::format("{}: gzip file that is not IDX; only IDX files may be "
                    "gzip-compressed",
                    path.string()));
  }
  if (path.extension() == ".pb") return TensorFileFormat::kTensorProto;
  throw invalid_input(
      fmt::format("{}: unrecognised tensor file; expected .npy, IDX (raw or "
                  ".gz), a torch.save zip, or an ONNX TensorProto .pb",
                  path.string()));
}

torch::Tensor read_tensor_file(const std::filesystem::path& path) {
  switch (detect_tensor_format(path)) {
    case TensorFileFormat::kNpy:
      return read_npy(path);
    case TensorFileFormat::kIdx:
      return read_idx(path);
    case TensorFileFormat::kTorchSaved:
      return read_torch_saved(path);
    case TensorFileFormat::kTensorProto:
      return read_tensor_pb(path);
  }
  throw runtime_failure("unreachable tensor format");
}

}  // namespace mopt
