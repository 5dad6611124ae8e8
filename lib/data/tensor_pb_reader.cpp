// onnx::TensorProto reader, for the input_N.pb / output_N.pb files of ONNX test data sets.
// A tensor's values live either in raw_data (little-endian bytes) or in the typed repeated field
// that onnx.proto assigns to its data_type (float_data, int32_data, int64_data, double_data).
#include <fmt/format.h>
#include <onnx/onnx_pb.h>

#include <cstring>

#include "lib/data/file_io.h"
#include "lib/data/readers.h"
#include "lib/errors.h"

namespace mopt {
namespace {

using onnx::TensorProto;

// Copies a typed repeated field into a tensor of the target dtype (narrowing int32_data to
// uint8/int8/int16/bool and reinterpreting it as IEEE half bits for FLOAT16, as onnx.proto says).
template <typename Field>
torch::Tensor from_field(const Field& field, torch::ScalarType source, torch::ScalarType target) {
  auto count = static_cast<int64_t>(field.size());
  auto values = torch::empty({count}, torch::TensorOptions().dtype(source));
  if (count > 0)
    std::memcpy(values.data_ptr(), field.data(),
                static_cast<size_t>(count) * values.element_size());
  if (target == torch::kHalf && source == torch::kInt)
    return values.to(torch::kShort).view(torch::kHalf);
  return values.to(target);
}

}  // namespace

torch::Tensor read_tensor_pb(const std::filesystem::path& path) {
  auto bytes = data_detail::read_file_bytes(path);
  TensorProto proto;
  if (!proto.ParseFromString(bytes))
    throw invalid_input(fmt::format("{}: not a serialized onnx.TensorProto", path.string()));
  if (proto.data_location() == TensorProto::EXTERNAL)
    throw invalid_input(
        fmt::format("{}: TensorProto with external data is not supported", path.string()));
  if (proto.has_segment())
    throw invalid_input(fmt::format("{}: segmented TensorProto is not supported", path.string()));

  torch::ScalarType dtype;
  switch (proto.data_type()) {
    case TensorProto::FLOAT:
      dtype = torch::kFloat;
      break;
    case TensorProto::DOUBLE:
      dtype = torch::kDouble;
      break;
    case TensorProto::FLOAT16:
      dtype = torch::kHalf;
      break;
    case TensorProto::INT64:
      dtype = torch::kLong;
      break;
    case TensorProto::INT32:
      dtype = torch::kInt;
      break;
    case TensorProto::INT16:
      dtype = torch::kShort;
      break;
    case TensorProto::INT8:
      dtype = torch::kChar;
      break;
    case TensorProto::UINT8:
      dtype = torch::kByte;
      break;
    case TensorProto::BOOL:
      dtype = torch::kBool;
      break;
    case TensorProto::UNDEFINED:
      throw invalid_input(
          fmt::format("{}: TensorProto has no data_type (empty or not a tensor "
                      "file)",
                      path.string()));
    default:
      throw invalid_input(fmt::format(
          "{}: unsupported TensorProto data_type {}; expected float, double, float16, int64, "
          "int32, int16, int8, uint8 or bool",
          path.string(),
          TensorProto::DataType_Name(static_cast<TensorProto::DataType>(proto.data_type()))));
  }

  std::vector<int64_t> shape(proto.dims().begin(), proto.dims().end());
  int64_t numel = 1;
  for (int64_t dim : shape) {
    if (dim < 0) throw invalid_input(fmt::format("{}: negative TensorProto dim", path.string()));
    numel *= dim;
  }

  torch::Tensor flat;
  if (proto.has_raw_data()) {
    auto element = static_cast<int64_t>(c10::elementSize(dtype));
    auto available = static_cast<int64_t>(proto.raw_data().size());
    if (available != numel * element)
      throw invalid_input(
          fmt::format("{}: TensorProto raw_data holds {} bytes, dims say {} "
                      "({} elements of {} bytes)",
                      path.string(), available, numel * element, numel, element));
    flat = torch::empty({numel}, torch::TensorOptions().dtype(dtype));
    if (available > 0)
      std::memcpy(flat.data_ptr(), proto.raw_data().data(), proto.raw_data().size());
  } else {
    switch (dtype) {
      case torch::kFloat:
        flat = from_field(proto.float_data(), torch::kFloat, dtype);
        break;
      case torch::kDouble:
        flat = from_field(proto.double_data(), torch::kDouble, dtype);
        break;
      case torch::kLong:
        flat = from_field(proto.int64_data(), torch::kLong, dtype);
        break;
      default:
        flat = from_field(proto.int32_data(), torch::kInt, dtype);
        break;
    }
    if (flat.numel() != numel)
      throw invalid_input(fmt::format("{}: TensorProto holds {} values, dims say {}", path.string(),
                                      flat.numel(), numel));
  }
  return flat.reshape(shape).contiguous();
}

}  // namespace mopt
