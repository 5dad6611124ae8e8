#pragma once
// NumPy-style dtype names ("float32", "uint8") used in specs, descriptions and messages.
#include <c10/core/ScalarType.h>

#include <optional>
#include <string>

namespace mopt::data_detail {

/// "float32" for kFloat, "uint8" for kByte, ...; c10's own names ("Float") read poorly in a CLI.
std::string dtype_name(c10::ScalarType dtype);

/// Inverse of dtype_name, also accepting the aliases float/double/half/long/int; nullopt if
/// the name is not a dtype an input spec may use.
std::optional<c10::ScalarType> parse_dtype_name(const std::string& name);

}  // namespace mopt::data_detail
