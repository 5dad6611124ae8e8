#pragma once
// Sizes declared by untrusted files (tensor dims, IDX and .npy headers, ONNX shapes) multiplied
// without overflow, so a reader can compare them with what the file holds before allocating.
#include <cstdint>
#include <limits>
#include <optional>

namespace mopt {

/// Product of `dims` times `element_size` in bytes; nullopt when a dim is negative or the product
/// does not fit in int64 (a header that declares more than any file could hold).
template <typename Dims>
std::optional<int64_t> checked_byte_count(const Dims& dims, int64_t element_size = 1) {
  int64_t total = element_size;
  if (total < 0) return std::nullopt;
  for (auto dim : dims) {
    const auto d = static_cast<int64_t>(dim);
    if (d < 0) return std::nullopt;
    if (d != 0 && total > std::numeric_limits<int64_t>::max() / d) return std::nullopt;
    total *= d;
  }
  return total;
}

}  // namespace mopt
