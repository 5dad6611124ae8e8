// TensorProto <-> at::Tensor and ONNX element type <-> torch dtype: one implementation used by the
// tensor-file reader, the ONNX passes and the importer.
#include "lib/onnx/onnx_tensors.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

#include "lib/errors.h"
#include "lib/util/checked_size.h"

namespace mopt {

std::optional<at::ScalarType> torch_dtype(int32_t onnx_type) {
  using T = onnx::TensorProto;
  switch (onnx_type) {
    case T::FLOAT: return at::kFloat;
    case T::DOUBLE: return at::kDouble;
    case T::FLOAT16: return at::kHalf;
    case T::BFLOAT16: return at::kBFloat16;
    case T::INT8: return at::kChar;
    case T::UINT8: return at::kByte;
    case T::UINT16: return at::kUInt16;
    case T::UINT32: return at::kUInt32;
    case T::UINT64: return at::kUInt64;
    case T::INT16: return at::kShort;
    case T::INT32: return at::kInt;
    case T::INT64: return at::kLong;
    case T::BOOL: return at::kBool;
    default: return std::nullopt;
  }
}

std::optional<int32_t> onnx_dtype(at::ScalarType dtype) {
  using T = onnx::TensorProto;
  switch (dtype) {
    case at::kFloat: return T::FLOAT;
    case at::kDouble: return T::DOUBLE;
    case at::kHalf: return T::FLOAT16;
    case at::kBFloat16: return T::BFLOAT16;
    case at::kChar: return T::INT8;
    case at::kByte: return T::UINT8;
    case at::kUInt16: return T::UINT16;
    case at::kUInt32: return T::UINT32;
    case at::kUInt64: return T::UINT64;
    case at::kShort: return T::INT16;
    case at::kInt: return T::INT32;
    case at::kLong: return T::INT64;
    case at::kBool: return T::BOOL;
    default: return std::nullopt;
  }
}

namespace {

// Copies typed-field values into a tensor of `dtype`, casting each element.
template <typename Field>
at::Tensor from_field(const Field& field, at::ScalarType field_dtype, at::ScalarType dtype) {
  using Elem = typename Field::value_type;
  auto values = at::empty({static_cast<int64_t>(field.size())}, at::TensorOptions().dtype(field_dtype));
  std::copy(field.begin(), field.end(), static_cast<Elem*>(values.data_ptr()));
  return values.to(dtype);
}

}  // namespace

std::optional<at::Tensor> tensor_to_torch(const onnx::TensorProto& tensor) {
  using T = onnx::TensorProto;
  auto dtype = torch_dtype(tensor.data_type());
  if (!dtype || tensor.data_location() == T::EXTERNAL || tensor.has_segment()) return std::nullopt;
  std::vector<int64_t> dims(tensor.dims().begin(), tensor.dims().end());
  auto declared = checked_byte_count(dims);
  if (!declared) return std::nullopt;  // negative dim, or more elements than any file holds
  const int64_t count = *declared;
  auto options = at::TensorOptions().dtype(*dtype);

  if (tensor.has_raw_data()) {
    const auto& raw = tensor.raw_data();
    auto bytes = checked_byte_count(dims, static_cast<int64_t>(c10::elementSize(*dtype)));
    if (!bytes || static_cast<int64_t>(raw.size()) != *bytes) return std::nullopt;
    auto out = at::empty(dims, options);
    // ONNX raw_data is little-endian, like every host LibTorch runs on here.
    if (count > 0) std::memcpy(out.data_ptr(), raw.data(), raw.size());
    return out;
  }

  at::Tensor flat;
  switch (tensor.data_type()) {
    case T::FLOAT: flat = from_field(tensor.float_data(), at::kFloat, at::kFloat); break;
    case T::DOUBLE: flat = from_field(tensor.double_data(), at::kDouble, at::kDouble); break;
    case T::INT64: flat = from_field(tensor.int64_data(), at::kLong, at::kLong); break;
    // uint32 and uint64 travel in uint64_data, as their values (the bits kept by int64's wrap-around).
    case T::UINT32:
    case T::UINT64: flat = from_field(tensor.uint64_data(), at::kUInt64, *dtype); break;
    case T::FLOAT16:
    case T::BFLOAT16: {
      // 16-bit floats travel as their bit patterns in int32_data.
      auto bits = from_field(tensor.int32_data(), at::kInt, at::kShort);
      flat = bits.view(*dtype);
      break;
    }
    default: flat = from_field(tensor.int32_data(), at::kInt, *dtype); break;
  }
  if (flat.numel() != count) return std::nullopt;
  return flat.reshape(dims).clone();
}

std::string tensor_data_mismatch(const onnx::TensorProto& tensor) {
  using T = onnx::TensorProto;
  auto dtype = torch_dtype(tensor.data_type());
  if (!dtype) return "";
  auto declared = checked_byte_count(tensor.dims());
  if (!declared) return fmt::format("dims [{}] are negative or too large for any file", fmt::join(tensor.dims(), ", "));
  const int64_t elements = *declared;
  if (tensor.has_raw_data()) {
    auto element = static_cast<int64_t>(c10::elementSize(*dtype));
    auto bytes = static_cast<int64_t>(tensor.raw_data().size());
    auto needed = checked_byte_count(tensor.dims(), element);
    if (needed && bytes == *needed) return "";
    return fmt::format("raw_data holds {} bytes, dims say {} elements of {} bytes", bytes, elements, element);
  }
  int64_t stored = 0;
  switch (tensor.data_type()) {
    case T::FLOAT: stored = tensor.float_data_size(); break;
    case T::DOUBLE: stored = tensor.double_data_size(); break;
    case T::INT64: stored = tensor.int64_data_size(); break;
    case T::UINT32:
    case T::UINT64: stored = tensor.uint64_data_size(); break;
    default: stored = tensor.int32_data_size(); break;
  }
  return stored == elements ? "" : fmt::format("holds {} values, dims say {}", stored, elements);
}

onnx::TensorProto torch_to_tensor(const at::Tensor& tensor, const std::string& name) {
  auto type = onnx_dtype(tensor.scalar_type());
  if (!type) {
    throw runtime_failure(fmt::format("cannot store a {} tensor in ONNX", c10::toString(tensor.scalar_type())));
  }
  auto dense = tensor.contiguous();
  onnx::TensorProto proto;
  proto.set_name(name);
  proto.set_data_type(*type);
  for (auto d : dense.sizes()) proto.add_dims(d);
  if (dense.nbytes() > 0) {
    proto.set_raw_data(std::string(static_cast<const char*>(dense.data_ptr()), dense.nbytes()));
  } else {
    proto.set_raw_data("");
  }
  return proto;
}

}  // namespace mopt
