// onnx::TensorProto reader, for the input_N.pb / output_N.pb files of ONNX test data sets.
// Decoding is lib/onnx's tensor_to_torch; this adds the file handling and the messages.
#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include "lib/data/file_io.h"
#include "lib/data/readers.h"
#include "lib/errors.h"
#include "lib/onnx/onnx_tensors.h"

namespace mopt {

torch::Tensor read_tensor_pb(const std::filesystem::path& path) {
  auto bytes = data_detail::read_file_bytes(path);
  onnx::TensorProto proto;
  if (!proto.ParseFromString(bytes))
    throw invalid_input(fmt::format("{}: not a serialized onnx.TensorProto", path.string()));
  if (proto.data_location() == onnx::TensorProto::EXTERNAL)
    throw invalid_input(fmt::format("{}: TensorProto with external data is not supported", path.string()));
  if (proto.has_segment())
    throw invalid_input(fmt::format("{}: segmented TensorProto is not supported", path.string()));
  if (proto.data_type() == onnx::TensorProto::UNDEFINED)
    throw invalid_input(fmt::format("{}: TensorProto has no data_type (empty or not a tensor file)", path.string()));
  if (!torch_dtype(proto.data_type()) || proto.data_type() == onnx::TensorProto::BFLOAT16) {
    throw invalid_input(fmt::format(
        "{}: unsupported TensorProto data_type {}; expected float, double, float16, int64, int32, int16, int8, "
        "uint8/16/32/64 or bool",
        path.string(), onnx::TensorProto::DataType_Name(static_cast<onnx::TensorProto::DataType>(proto.data_type()))));
  }
  for (auto dim : proto.dims()) {
    if (dim < 0) throw invalid_input(fmt::format("{}: negative TensorProto dim", path.string()));
  }
  auto mismatch = tensor_data_mismatch(proto);
  if (!mismatch.empty()) throw invalid_input(fmt::format("{}: TensorProto {}", path.string(), mismatch));
  auto tensor = tensor_to_torch(proto);
  if (!tensor) throw invalid_input(fmt::format("{}: unreadable TensorProto", path.string()));
  return tensor->contiguous();
}

}  // namespace mopt
