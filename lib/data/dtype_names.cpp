#include "lib/data/dtype_names.h"

namespace mopt::data_detail {

std::string dtype_name(c10::ScalarType dtype) {
  switch (dtype) {
    case c10::kFloat:
      return "float32";
    case c10::kDouble:
      return "float64";
    case c10::kHalf:
      return "float16";
    case c10::kLong:
      return "int64";
    case c10::kInt:
      return "int32";
    case c10::kShort:
      return "int16";
    case c10::kChar:
      return "int8";
    case c10::kByte:
      return "uint8";
    case c10::kUInt16:
      return "uint16";
    case c10::kUInt32:
      return "uint32";
    case c10::kUInt64:
      return "uint64";
    case c10::kBool:
      return "bool";
    default:
      return c10::toString(dtype);
  }
}

std::optional<c10::ScalarType> parse_dtype_name(const std::string& name) {
  if (name == "float32" || name == "float") return c10::kFloat;
  if (name == "float64" || name == "double") return c10::kDouble;
  if (name == "float16" || name == "half") return c10::kHalf;
  if (name == "int64" || name == "long") return c10::kLong;
  if (name == "int32" || name == "int") return c10::kInt;
  if (name == "int16") return c10::kShort;
  if (name == "int8") return c10::kChar;
  if (name == "uint8") return c10::kByte;
  if (name == "uint16") return c10::kUInt16;
  if (name == "uint32") return c10::kUInt32;
  if (name == "uint64") return c10::kUInt64;
  if (name == "bool") return c10::kBool;
  return std::nullopt;
}

}  // namespace mopt::data_detail
